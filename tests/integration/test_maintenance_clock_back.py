"""Maintenance after the clock went back past its last run (a clock stepped a year
ahead, then set right by NTP): the period's run is claimed at once, not once the
clock has caught up with the run stamped in the future (a year without retention)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.storage import cluster as cluster_module
from monitor.storage.cluster import MAINTENANCE
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, Repository, now_ms

HOUR = 3_600_000


def member() -> dict[str, object]:
    return {
        "id": "a",
        "host": "h",
        "pid": 1,
        "version": "0.1.0",
        "started_at": 0,
        "view": None,
        "checks": 0,
        "rate": 0.0,
    }


def test_a_clock_set_back_does_not_skip_maintenance_until_it_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [now_ms()]
    monkeypatch.setattr(cluster_module, "now_ms", lambda: clock[0])
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    real = clock[0]
    clock[0] = real + 365 * DAY_MS  # a clock a year ahead
    repo.heartbeat(member(), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "a", HOUR) is True
    clock[0] = real  # set right
    repo.heartbeat(member(), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "a", HOUR) is True
    assert repo.start_run(MAINTENANCE, "a", HOUR) is False  # then once a period again
    clock[0] = real + HOUR
    repo.heartbeat(member(), 60_000, 60_000)
    assert repo.start_run(MAINTENANCE, "a", HOUR) is True
    engine.dispose()
