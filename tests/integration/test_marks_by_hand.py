"""Marks written by hand (or by a broken tool) into `meta`: no traceback anywhere.

The last check is read by the start's step-back test (clock_step.py), by
`status`, /api/v1/status and /metrics (reads.py), and by retention on SQLite
(maintenance.py). A number too long for a float (or for `int()` at all) made
the heartbeat raise OverflowError, out of reach of its database-error handler,
and /metrics fail at every scrape.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from test_clock_step_back import member
from test_retention_wrong_clock import checked_at

from monitor.daemon.maintenance import ROLLED_THROUGH, run_maintenance
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.status.document import rfc3339
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, LAST_CHECK_KEY, Repository, now_ms

MARKS = ["9" * 400, "9" * 5000, "-" + "9" * 400, "1e999", " 12 ", "1_000", "\u0661\u0662", ""]
IDS = ["400 digits", "5000 digits", "-400 digits", "1e999", "spaces", "1_000", "arabic", "empty"]


@pytest.mark.parametrize("mark", MARKS, ids=IDS)
def test_a_last_check_written_by_hand_breaks_no_reader(
    repo: Repository, mark: str, caplog: pytest.LogCaptureFixture
) -> None:
    t = now_ms()
    checked_at(repo, t - 2 * DAY_MS, t)
    repo.set_meta(LAST_CHECK_KEY, mark)
    clock = [t]
    with caplog.at_level(logging.INFO, logger="monitor.daemon"):
        m = member(repo, clock)
        m.beat({})
        clock[0] += 1000
        m.beat({})
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in said if "last check" in m or "stepped back" in m]) <= 1, said
    snap = repo.snapshot()
    assert snap.last_check_ms is None or abs(snap.last_check_ms) < 10**15
    rfc3339(snap.last_check_ms)
    body = DaemonMetrics(repo.snapshot).render()
    assert b"article_monitor_last_check_timestamp_seconds" in body
    run_maintenance(repo, t, retention_days=30, rollup_retention_days=365)


@pytest.mark.parametrize("mark", MARKS, ids=IDS)
def test_a_rollup_mark_written_by_hand_stops_no_maintenance(repo: Repository, mark: str) -> None:
    t = now_ms()
    checked_at(repo, t - 40 * DAY_MS, t - 3 * DAY_MS, t)
    repo.set_meta(ROLLED_THROUGH, mark)
    report = run_maintenance(repo, t, retention_days=30, rollup_retention_days=365)
    assert report.results_deleted == 1
    again = run_maintenance(repo, t + DAY_MS, retention_days=30, rollup_retention_days=365)
    assert again.days_rolled <= 2


def test_an_unreadable_rollup_mark_is_said_once_a_run(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    """With no result to roll up, the mark stays as written: it was said twice a run
    (roll_up's read, then the partitions' read)."""
    repo.set_meta(ROLLED_THROUGH, "garbage")
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.maintenance"):
        run_maintenance(repo, now_ms(), retention_days=30, rollup_retention_days=365)
    said = [r.getMessage() for r in caplog.records if "rollup mark" in r.getMessage()]
    assert len(said) == 1, said


def test_text_written_by_hand_into_a_lease_or_due_time_breaks_no_reader(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite keeps text in an integer column: `max(until)` then came back as text,
    and the start's witness raised TypeError out of the first heartbeat (the daemon
    did not start), `status` and /metrics too (`min()` of text and a number)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t = now_ms()
    target = checked_at(repo, t - DAY_MS, t)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO leases (until, target_id) VALUES ('x', :t)"), {"t": target})
        conn.execute(
            text("INSERT INTO due_queue (due, target_id, bucket) VALUES ('y', :t, 0)"),
            {"t": target},
        )
        conn.execute(text("UPDATE targets SET next_due = 'y' WHERE id = :t"), {"t": target})
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        m = member(repo, [t])
        m.beat({})
        m.beat({})
    snap = repo.snapshot()
    assert snap.oldest_due_ms is None or isinstance(snap.oldest_due_ms, int)
    assert b"article_monitor_cycle_lag_seconds" in DaemonMetrics(repo.snapshot).render()
    said = [r.getMessage() for r in caplog.records if "not a time" in r.getMessage()]
    assert len(said) == 1, said
    engine.dispose()
