"""The hourly mend of `targets.active` (a previous version's writes, migration 0010)
reads first and writes only what disagrees: it took a write transaction per 5,000
ids even with nothing to mend (~200 an hour at a million targets, each queued
behind and holding up the claims). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text
from test_storage import FP, T0, record

from monitor.storage.engine import WRITE_OPTION
from monitor.storage.repository import TARGETS, Repository


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
