"""What the clock watch costs the heartbeat when nothing stepped, counted on a real
database: three reads at the first beat (the last check, the furthest due time,
the furthest lease end), none after; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from test_clock_step_back import SETTINGS, checked
from test_storage import FP, record

from monitor.daemon.clock_step import ClockWatch
from monitor.storage.repository import Repository, now_ms


def test_a_clock_that_never_stepped_costs_three_reads_once(repo: Repository) -> None:
    t = now_ms()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(20)], 0, t)
    claims = repo.claim_due(t, 10, int(SETTINGS.lease_seconds * 1000))
    repo.record([checked(c, t) for c in claims[:5]])  # five recorded, five still leased
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb != "BEGIN":  # SQLite's explicit start of a read, no statement of ours
            statements.append(verb)

    event.listen(repo.engine, "before_cursor_execute", seen)
    try:
        watch = ClockWatch()
        watch.beat(repo, t + 1000, SETTINGS)
        first = list(statements)
        for n in range(2, 50):
            watch.beat(repo, t + n * 1000, SETTINGS)
    finally:
        event.remove(repo.engine, "before_cursor_execute", seen)
    assert first == ["SELECT"] * 3, first
    assert statements == first  # no statement at any later beat
