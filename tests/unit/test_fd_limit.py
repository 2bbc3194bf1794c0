"""The daemon raises its open-files limit to what the system allows, and says
when even that is short of what its configuration may need."""

from __future__ import annotations

import logging
import resource

import pytest

from monitor.observe import guard


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
    monkeypatch.setattr(guard.resource, "getrlimit", fake.get)
    monkeypatch.setattr(guard.resource, "setrlimit", fake.set)
    return fake


def test_the_soft_limit_is_raised_to_the_hard_one(limits: FakeLimits) -> None:
    assert guard.raise_fd_limit(300) == 524288
    assert limits.value == (524288, 524288)


def test_a_short_limit_is_reported(limits: FakeLimits, caplog: pytest.LogCaptureFixture) -> None:
    limits.value = (256, 512)
    caplog.set_level(logging.WARNING)
    assert guard.raise_fd_limit(2000) == 512
    assert "open-files limit (512) is below the 2000" in caplog.text


def test_a_refused_raise_is_reported_and_kept(
    limits: FakeLimits, caplog: pytest.LogCaptureFixture
) -> None:
    limits.settable = False
    caplog.set_level(logging.WARNING)
    assert guard.raise_fd_limit(100) == 1024
    assert "cannot raise the open-files limit" in caplog.text
    assert limits.value == (1024, 524288)


def test_an_infinite_hard_limit_gets_a_finite_soft_one(limits: FakeLimits) -> None:
    limits.value = (1024, resource.RLIM_INFINITY)
    assert guard.raise_fd_limit(100) == 65536
