"""History survives a wrong clock: a leader whose clock ran a year ahead counted
retention back from it and purged every result, rollup and event. PostgreSQL
counts back from the database's clock; SQLite (one machine) never past the
newest stored result, and says so when the clock is far ahead of it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_storage import FP, done, record

from monitor.daemon.maintenance import ROLLED_THROUGH, run_maintenance
from monitor.daemon.state import TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.pages import EVENTS
from monitor.storage.repository import DAY_MS, RESULTS, ROLLUPS, Repository, now_ms
from monitor.vocabulary import Outcome

YEAR = 365 * DAY_MS


def checked_at(repo: Repository, *times: int) -> int:
    """One target's results at these times (the last check: the newest of them)."""
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, min(times))
    claim = repo.claim_due(min(times), 1, 1000)[0]
    up = TargetState()
    repo.record([done(claim.id, claim.lease, t, Outcome.OK, up, up) for t in sorted(times)])
    return claim.id


def history(repo: Repository) -> tuple[list[int], int, int]:
    """The results' times, the rollups and the events stored."""
    with repo.engine.connect() as conn:
        results = sorted(conn.scalars(select(RESULTS.c.checked_at)))
        rollups = int(conn.scalar(select(func.count()).select_from(ROLLUPS)) or 0)
        events = int(conn.scalar(select(func.count()).select_from(EVENTS)) or 0)
    return results, rollups, events


def an_event_and_a_rollup(repo: Repository, target: int, at: int) -> None:
    event = {"target_id": target, "at": at, "kind": "text_changed", "detail": "x"}
    with repo.engine.begin() as conn:
        conn.execute(EVENTS.insert(), [event])
    rollup = {"checks": 1, "counts": "0:1", "p50_ms": 1, "p95_ms": 1}
    repo.store_rollups([{"target_id": target, "day": at // DAY_MS, **rollup}])


def test_a_clock_a_year_ahead_purges_no_history_on_sqlite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    days = [t - 40 * DAY_MS, t - 29 * DAY_MS, t - DAY_MS, t]
    target = checked_at(repo, *days)
    an_event_and_a_rollup(repo, target, t - 100 * DAY_MS)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        run_maintenance(repo, t + YEAR, retention_days=30, rollup_retention_days=365)
    results, rollups, events = history(repo)
    # only what was past retention of the newest result went
    assert results == days[1:]
    assert rollups >= 1 and events == 1
    said = [r.getMessage() for r in caplog.records]
    assert any("past the newest stored result" in m for m in said), said
    engine.dispose()


def test_a_clock_behind_the_newest_result_counts_from_the_clock_on_sqlite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The usual case (the clock at or after the newest result, within a day) is as
    before, and says nothing."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    checked_at(repo, t - 40 * DAY_MS, t - 29 * DAY_MS, t)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        run_maintenance(repo, t - DAY_MS, retention_days=30, rollup_retention_days=365)
    assert history(repo)[0] == [t - 29 * DAY_MS, t]  # t - 40 days: past 30 of the clock
    assert not caplog.records
    engine.dispose()


@pytest.mark.postgres
def test_a_leader_a_year_ahead_purges_no_history_on_postgresql(pg_repo: Repository) -> None:
    """The cutoff is the database's clock's, whatever the leader's own clock says."""
    repo = pg_repo
    t = repo.db_now()
    days = [t - 40 * DAY_MS, t - 29 * DAY_MS, t - DAY_MS, t - 60_000]
    target = checked_at(repo, *days)
    an_event_and_a_rollup(repo, target, t - 100 * DAY_MS)
    run_maintenance(repo, t + YEAR, retention_days=30, rollup_retention_days=365)
    results, rollups, events = history(repo)
    assert results == days[1:]
    assert rollups >= 1 and events == 1


def test_an_unreadable_rollup_mark_does_not_stop_maintenance(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`int(mark)` failed every run (retention included) with a ValueError: the mark
    is said and the days rolled up again from the oldest result kept."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    checked_at(repo, t - 40 * DAY_MS, t - 3 * DAY_MS, t)
    repo.set_meta(ROLLED_THROUGH, "garbage")
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        report = run_maintenance(repo, t, retention_days=30, rollup_retention_days=365)
    assert report.results_deleted == 1 and report.days_rolled >= 1
    assert int(repo.get_meta(ROLLED_THROUGH) or "") >= (t - 3 * DAY_MS) // DAY_MS
    assert any("rollup mark" in r.getMessage() for r in caplog.records)
    engine.dispose()
