"""Maintenance reads first and writes only what it has to: the hourly mend of
`targets.active` (a previous version's writes, migration 0010) and the purge of
raw results each took a write transaction per 5,000 ids even with nothing to do
(~200 an hour at a million targets, each queued behind and holding up the
claims). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text
from test_storage import FP, T0, done, record

from monitor.daemon.state import State, TargetState
from monitor.storage.engine import WRITE_OPTION
from monitor.storage.repository import TARGETS, Repository
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)


@pytest.fixture
def writes(repo: Repository) -> Iterator[list[int]]:
    """One entry per write transaction begun on the repository's engine."""
    begun: list[int] = []

    def on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            begun.append(1)

    event.listen(repo.engine, "begin", on_begin)
    yield begun
    event.remove(repo.engine, "begin", on_begin)


def flags(repo: Repository) -> dict[int, tuple[int | None, bool]]:
    with repo.engine.connect() as conn:
        rows = conn.execute(select(TARGETS.c.id, TARGETS.c.active, TARGETS.c.next_due))
        return {tid: (active, due is not None) for tid, active, due in rows}


def test_nothing_to_mend_opens_no_write_transaction(repo: Repository, writes: list[int]) -> None:
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(4)], 0, T0)
    writes.clear()
    assert repo.mend_active_flags() == 0
    assert writes == []


def test_what_disagrees_is_mended_in_few_writes(repo: Repository, writes: list[int]) -> None:
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(4)], 0, T0)
    ids = sorted(flags(repo))
    retired, scheduled = ids[0], ids[-1]
    with repo.engine.begin() as conn:  # a previous version's retire and schedule
        conn.execute(text("DELETE FROM due_queue WHERE target_id = :t"), {"t": retired})
        conn.execute(text("UPDATE targets SET next_due = NULL WHERE id = :t"), {"t": retired})
        conn.execute(text("UPDATE targets SET active = NULL WHERE id = :t"), {"t": scheduled})
    writes.clear()
    assert repo.mend_active_flags(chunk=1) == 2
    assert len(writes) == 2  # one per chunk of what disagreed, none for the rest
    after = flags(repo)
    assert after[retired] == (None, False)
    assert after[scheduled] == (1, True)
    assert all((active == 1) == due for active, due in after.values())
    writes.clear()
    assert repo.mend_active_flags() == 0
    assert writes == []


def test_a_purge_with_nothing_old_opens_no_write_transaction(
    repo: Repository, writes: list[int]
) -> None:
    """The same for the raw results' purge: a range of targets with no result past
    retention (on PostgreSQL, their days went with their partitions) is not written."""
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(4)], 0, T0)
    claims = repo.claim_due(T0, 100, 60_000)
    repo.record([done(c.id, c.lease, T0 + 1000 * c.id, Outcome.OK, c.state, UP) for c in claims])
    writes.clear()
    assert repo.purge_results(T0, chunk=2) == 0
    assert writes == []
    first = min(c.id for c in claims)
    assert repo.purge_results(T0 + 1000 * first + 1, chunk=2) == 1
    assert len(writes) == 1  # only the range that held it


def test_many_out_of_step_are_read_a_page_at_a_time(repo: Repository, writes: list[int]) -> None:
    """After a long rolling upgrade millions of ids disagreed, and all of them were
    read into one list: now a bounded page at a time (keyset by id), every one mended."""
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(7)], 0, T0)
    ids = sorted(flags(repo))
    stale = ids[::2]  # every other one: the pages skip the rows in step
    assert len(stale) == 11, "the counts below assume 11"
    with repo.engine.begin() as conn:  # a previous version's schedule of each
        for tid in stale:
            conn.execute(text("UPDATE targets SET active = NULL WHERE id = :t"), {"t": tid})
    reads: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT TARGETS.ID"):
            reads.append(statement)

    event.listen(repo.engine, "before_cursor_execute", on_execute)
    try:
        writes.clear()
        assert repo.mend_active_flags(chunk=2, page=3) == 11
    finally:
        event.remove(repo.engine, "before_cursor_execute", on_execute)
    assert len(reads) == 4  # pages of 3, 3, 3 and 2: the short one ends it
    assert all("LIMIT" in statement.upper() for statement in reads)
    assert len(writes) == 2 + 2 + 2 + 1  # chunks of 2 within each page
    assert all((active == 1) == due for active, due in flags(repo).values())
    writes.clear()
    assert repo.mend_active_flags(page=3) == 0
    assert writes == []
