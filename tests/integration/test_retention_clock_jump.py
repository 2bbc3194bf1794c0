"""History survives a wall clock that jumps ahead while the daemon runs (SQLite).

Retention on SQLite counts back from the newest stored result at most: that
held for a daemon started on a clock ahead, until its checks recorded results
on that clock. They then were the newest, and the next maintenance purged
every real result, rollup and event. The daemon's clock for retention never
runs ahead of the steady clock since the daemon started.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from test_retention_wrong_clock import YEAR, an_event_and_a_rollup, checked_at, history
from test_storage import done

from monitor.config import load_settings
from monitor.daemon import cluster as cluster_module
from monitor.daemon import maintenance as maintenance_module
from monitor.daemon.maintenance import ROLLED_THROUGH, WallSince, run_maintenance
from monitor.daemon.service import Daemon
from monitor.daemon.state import TargetState
from monitor.secured.keys import KeyRing
from monitor.storage import cluster as storage_cluster
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, Repository, now_ms
from monitor.vocabulary import Outcome


def _a_year_ahead(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    *,
    from_the_start: bool,
) -> list[str]:
    """A daemon over 40 days of results (an event and a rollup 100 days old) on a
    wall clock a year ahead, from its start or from after it, records one check
    there and runs its maintenance: only the result 40 days past the real time
    goes. Returns what the maintenance logged."""
    t = now_ms()
    values = {"paths": [tmp_path], "data_dir": tmp_path / "data", "retention_days": 30}
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    try:
        upgrade(daemon.engine)
        repo = daemon.repo
        days = [t - 40 * DAY_MS, t - 29 * DAY_MS, t - DAY_MS, t]
        target = checked_at(repo, *days)
        an_event_and_a_rollup(repo, target, t - 100 * DAY_MS)
        # the wall clock a year ahead; the checks go on and record there
        ahead = [cluster_module, storage_cluster]
        if from_the_start:
            ahead.append(maintenance_module)
        for module in ahead:
            monkeypatch.setattr(module, "now_ms", lambda: t + YEAR)
        if from_the_start:
            daemon._wall = WallSince.at_start(repo)  # as run() does once the database is open
        up = TargetState()
        claim = repo.claim_due(t + YEAR, 1, 1000)[0]
        repo.record([done(claim.id, claim.lease, t + YEAR, Outcome.OK, up, up)])
        daemon.membership.beat({})  # the leader: it runs the maintenance
        with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
            asyncio.run(daemon.maintenance())
        results, rollups, events = history(repo)
        assert results == [*days[1:], t + YEAR]  # only what was 30 days past the real time
        assert rollups >= 1 and events == 1
        return [r.getMessage() for r in caplog.records]
    finally:
        daemon.engine.dispose()


AHEAD_SAID = "past the newest result stored at the daemon's start"


def test_a_clock_that_jumps_a_year_ahead_while_running_purges_no_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon started on time; its wall clock jumps a year ahead while it runs."""
    said = _a_year_ahead(tmp_path, monkeypatch, caplog, from_the_start=False)
    assert any(AHEAD_SAID in m for m in said), said


def test_the_bound_follows_the_steady_clock() -> None:
    """A clock stepped back is taken as it is (the bound is above it); one that ran
    ahead of the steady clock is held to start + steady time elapsed."""
    steady = [100.0]
    bound = WallSince(1_000_000, lambda: steady[0])
    steady[0] += 3600
    assert bound.now() == 1_000_000 + 3_600_000
    assert maintenance_module.bounded(1_000_000 + 60_000, bound) == 1_000_000 + 60_000
    assert maintenance_module.bounded(1_000_000 + YEAR, bound) == 1_000_000 + 3_600_000
    assert maintenance_module.bounded(5, None) == 5


def test_a_daemon_started_on_a_clock_a_year_ahead_purges_no_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Retention counted from the newest result only until the daemon's first checks
    on the clock ahead were recorded: the first maintenance runs after them."""
    said = _a_year_ahead(tmp_path, monkeypatch, caplog, from_the_start=True)
    assert sum(AHEAD_SAID in m for m in said) == 1, said


def test_a_daemon_that_records_nothing_for_days_is_not_taken_for_a_clock_ahead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Long intervals (a week, ten years): the daemon's clock ran days past its newest
    result, truly. Retention counted from that result and said "a clock set ahead"
    at every hourly run; the steady clock since the start says the days passed."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    checked_at(repo, t - 28 * DAY_MS, t)
    steady = [0.0]
    bound = WallSince(t, lambda: steady[0])  # started at t, its newest result then
    steady[0] += 3 * DAY_MS / 1000
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        for hour in range(2):
            now = t + 3 * DAY_MS + hour * 3_600_000
            run_maintenance(repo, now, retention_days=30, rollup_retention_days=365, bound=bound)
    assert history(repo)[0] == [t]  # t - 28 days is 31 days old
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    engine.dispose()


def test_a_database_that_cannot_answer_at_the_start_stops_no_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)

    def locked() -> int:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(repo, "newest_result_ms", locked)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        bound = WallSince.at_start(repo)
    assert abs(bound.now() - now_ms()) < 60_000
    assert any("newest result at the start" in r.getMessage() for r in caplog.records)
    engine.dispose()


def test_a_clock_behind_at_the_start_and_put_right_while_running_holds_nothing_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Started on a clock a year behind its history, then put right (NTP): the bound
    began at that clock, so retention and rollups stood still until a restart."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    days = [t - 40 * DAY_MS, t - 29 * DAY_MS, t - DAY_MS, t]
    checked_at(repo, *days)
    monkeypatch.setattr(maintenance_module, "now_ms", lambda: t - YEAR)
    steady = [0.0]
    monkeypatch.setattr(maintenance_module, "_steady", lambda: steady[0])
    bound = WallSince.at_start(repo)
    steady[0] += 3600.0  # an hour on, the clock put right
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        run_maintenance(
            repo, t + 3_600_000, retention_days=30, rollup_retention_days=365, bound=bound
        )
    assert history(repo)[0] == days[1:]
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    engine.dispose()


def test_rollups_do_not_lag_after_a_daemon_was_stopped_for_days(tmp_path: Path) -> None:
    """Stopped three days, then run with a right clock: the bound starts three days
    back (its newest result then). Only deletion waits for it; rollups follow the
    clock as before (they delete nothing), so the days since the start are rolled
    up as they complete, not three days late until the next start."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms() // DAY_MS * DAY_MS + 12 * 3_600_000  # noon today
    checked_at(repo, t - 3 * DAY_MS, t, t + DAY_MS)  # before the stop; after the start
    steady = [0.0]
    bound = WallSince(t - 3 * DAY_MS, lambda: steady[0])  # the start's newest result
    steady[0] += 2 * DAY_MS / 1000  # two days on
    run_maintenance(repo, t + 2 * DAY_MS, retention_days=30, rollup_retention_days=365, bound=bound)
    assert int(repo.get_meta(ROLLED_THROUGH) or "0") == (t + DAY_MS) // DAY_MS
