"""The daemon raises its open-files limit to what the system allows, and fits
its endpoint connections under whatever limit it gets."""

from __future__ import annotations

import logging
import resource

import pytest

from monitor.observe import fdlimit
from monitor.observe.fdlimit import MIN_CONNECTIONS, fit_to_fd_limit
from monitor.observe.guard import ConnectionLimits


class FakeLimits:
    def __init__(self, soft: int, hard: int, *, settable: bool = True) -> None:
        self.value = (soft, hard)
        self.settable = settable

    def get(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.value

    def set(self, which: int, value: tuple[int, int]) -> None:
        if not self.settable:
            raise ValueError("not allowed")
        self.value = value


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> FakeLimits:
    fake = FakeLimits(1024, 524288)
    monkeypatch.setattr(fdlimit.resource, "getrlimit", fake.get)
    monkeypatch.setattr(fdlimit.resource, "setrlimit", fake.set)
    return fake


def test_the_soft_limit_is_raised_to_the_hard_one(limits: FakeLimits) -> None:
    assert fdlimit.raise_fd_limit() == 524288
    assert limits.value == (524288, 524288)


def test_a_refused_raise_is_reported_and_kept(
    limits: FakeLimits, caplog: pytest.LogCaptureFixture
) -> None:
    limits.settable = False
    caplog.set_level(logging.WARNING)
    assert fdlimit.raise_fd_limit() == 1024
    assert "cannot raise the open-files limit" in caplog.text
    assert limits.value == (1024, 524288)


def test_an_infinite_hard_limit_gets_a_finite_soft_one(limits: FakeLimits) -> None:
    limits.value = (1024, resource.RLIM_INFINITY)
    assert fdlimit.raise_fd_limit() == 65536


def test_connections_fit_under_the_limit_with_two_accept_batches() -> None:
    wanted = ConnectionLimits(max_connections=128, backlog=64)
    assert fit_to_fd_limit(wanted, 524288, 64 + 64) is wanted
    assert fit_to_fd_limit(wanted, 128 + 2 * 64 + 128, 128).max_connections == 128
    assert fit_to_fd_limit(wanted, 128 + 2 * 64 + 127, 128).max_connections == 127
    fitted = fit_to_fd_limit(wanted, 256, 8 + 64)
    assert fitted.max_connections == 256 - 72 - 2 * 64
    assert fitted.header_timeout == wanted.header_timeout
    assert fit_to_fd_limit(wanted, 100, 200).max_connections == MIN_CONNECTIONS
