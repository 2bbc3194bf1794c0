"""A heartbeat configured slower than the timeout allows is run faster.

With `cluster_heartbeat = 30` and the default `cluster_timeout = 10`, a healthy
member stopped claiming half a timeout after each beat, and the others counted
it dead before its next beat and took its hosts, back and forth every beat.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import monitor.daemon.cluster as cluster_module
from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.daemon.cluster_settings import beat_interval
from monitor.storage.repository import Repository


def _waits(repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the heartbeat loop asks for between its first two beats."""
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float, *args: Any) -> None:
        waits.append(seconds)
        raise asyncio.CancelledError

    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None, member_id="a")
    monkeypatch.setattr(cluster_module.asyncio, "sleep", sleep)
    try:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(m.keep_beating(lambda exc: str(exc), lambda: None))
    finally:
        monkeypatch.setattr(cluster_module.asyncio, "sleep", real_sleep)
    return waits


def test_a_heartbeat_slower_than_a_third_of_the_timeout_beats_at_a_third(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = Settings(cluster_heartbeat=30.0, cluster_timeout=10.0)
    assert _waits(repo, slow, monkeypatch) == [pytest.approx(10.0 / 3)]


def test_the_configured_heartbeat_is_kept_when_it_fits(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = Settings()
    assert beat_interval(default) == default.cluster_heartbeat == 2.0
    assert _waits(repo, default, monkeypatch) == [2.0]
