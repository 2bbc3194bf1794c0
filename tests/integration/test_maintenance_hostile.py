"""Maintenance against unlucky data (monitor/daemon/maintenance.py): a result
stamped decades ago by a broken clock, and the cost of each hourly run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from support.storage import midday

from monitor.daemon.maintenance import ROLLED_THROUGH, ROLLUP_GRACE_MS, run_maintenance
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, Repository, now_ms


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def put(engine: Engine, *at: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (1, :at, 0)"),
            [{"at": t} for t in at],
        )


def rollups(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT day, checks FROM rollups ORDER BY day")).all()
    return [(r.day, r.checks) for r in rows]


def test_a_day_is_rolled_up_only_once_its_late_results_are_written(engine: Engine) -> None:
    """A check started at 23:59:59 is stamped then and written after midnight (its
    timeout, the batched writer): a rollup made at 00:00:05 had lost it for good."""
    repo = Repository(engine)
    day = now_ms() // DAY_MS - 3
    end = (day + 1) * DAY_MS
    put(engine, day * DAY_MS + 5)
    run_maintenance(repo, end + 5_000, retention_days=30, rollup_retention_days=365)
    put(engine, end - 1)  # stamped in `day`, written after the run above
    run_maintenance(repo, end + ROLLUP_GRACE_MS, retention_days=30, rollup_retention_days=365)
    assert rollups(engine) == [(day, 2)]


def test_a_clock_that_ran_ahead_does_not_leave_a_day_half_rolled_up(engine: Engine) -> None:
    """The leader's clock stepped a day forward, then back: the day it rolled up
    while it was still running is rolled up again once it is complete."""
    repo = Repository(engine)
    day = now_ms() // DAY_MS - 3
    noon = day * DAY_MS + DAY_MS // 2
    put(engine, noon - 1000)
    run_maintenance(repo, noon + DAY_MS, retention_days=30, rollup_retention_days=365)
    assert rollups(engine) == [(day, 1)]  # the clock said `day` was over
    put(engine, noon + 1000)  # the clock is back: `day` goes on
    run_maintenance(repo, noon + 3_600_000, retention_days=30, rollup_retention_days=365)
    run_maintenance(
        repo, (day + 1) * DAY_MS + ROLLUP_GRACE_MS, retention_days=30, rollup_retention_days=365
    )
    assert rollups(engine) == [(day, 2)]
    assert repo.get_meta(ROLLED_THROUGH) == str(day)


def test_a_result_from_1970_does_not_hold_the_rollups_decades_back(engine: Engine) -> None:
    repo = Repository(engine)
    now = midday()
    today = now // DAY_MS
    put(engine, 1000, (today - 2) * DAY_MS + 5, (today - 1) * DAY_MS + 5)
    run_maintenance(repo, now, retention_days=30, rollup_retention_days=365)
    assert repo.get_meta(ROLLED_THROUGH) == str(today - 1)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT day FROM rollups ORDER BY day")).scalars().all()
    assert days == [today - 2, today - 1]


def test_a_mark_far_behind_skips_the_days_whose_rollups_would_be_purged(engine: Engine) -> None:
    repo = Repository(engine)
    now = midday()
    today = now // DAY_MS
    repo.set_meta(ROLLED_THROUGH, "10")  # a leader away for decades, or a broken clock
    put(engine, (today - 1) * DAY_MS + 5)
    report = run_maintenance(repo, now, retention_days=30, rollup_retention_days=20)
    assert report.days_rolled == 20
    assert repo.get_meta(ROLLED_THROUGH) == str(today - 1)


def test_a_run_with_a_mark_does_not_scan_every_result(engine: Engine) -> None:
    """min(checked_at) reads every row (the key leads with the target): at 10M
    targets, 4.8 billion rows each hour. Asked only before the first rollup."""
    repo = Repository(engine)
    now = midday()
    put(engine, now - DAY_MS)
    run_maintenance(repo, now, retention_days=30, rollup_retention_days=365)
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", note)
    try:
        run_maintenance(repo, now + 3_600_000, retention_days=30, rollup_retention_days=365)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    scans = [s for s in seen if "min(check_results.checked_at)" in s]
    assert not scans, scans


def test_a_big_first_purge_holds_the_write_lock_for_a_bounded_number_of_rows(
    engine: Engine,
) -> None:
    """`retention_days` lowered on a big database: every old result of 5,000 targets
    went in one transaction (6M rows held the SQLite write lock ~1 s; claims waited)."""
    repo = Repository(engine)
    cutoff = 100 * DAY_MS
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (:t, :at, 0)"),
            [{"t": t, "at": cutoff + d * 3_600_000} for t in range(3) for d in range(-10, 5)],
        )
    deletes: list[int] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lower().startswith("delete"):
            deletes.append(getattr(cursor, "rowcount", -1))

    event.listen(engine, "after_cursor_execute", note)
    try:
        assert repo.purge_results(cutoff, rows=4) == 30
    finally:
        event.remove(engine, "after_cursor_execute", note)
    assert max(deletes) <= 4 and sum(deletes) == 30
    with engine.connect() as conn:
        left = conn.execute(text("SELECT target_id, checked_at FROM check_results")).all()
    assert sorted(left) == [(t, cutoff + d * 3_600_000) for t in range(3) for d in range(5)]
