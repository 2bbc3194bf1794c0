"""The queue's claims execute statements built once per dialect (issue 16):
building each claim's statements anew (and SQLAlchemy's cache key of each)
was ~5% of the daemon parent's CPU. Observed by the objects SQLAlchemy is
asked to execute, never by time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DUE, TARGETS, Repository

TARGET_COUNT = 300
BATCH = 50


def test_every_claim_executes_the_same_statement_objects(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            TARGETS.insert(),
            [
                {"id": i, "url": f"https://h{i % 7}.test/{i}", "kind": "web", "next_due": 0}
                for i in range(1, TARGET_COUNT + 1)
            ],
        )
        conn.execute(
            DUE.insert(),
            [{"due": 0, "target_id": i, "bucket": None} for i in range(1, TARGET_COUNT + 1)],
        )
    executed: list[set[int]] = []

    @event.listens_for(engine, "before_execute")
    def _seen(conn: Any, clause: Any, *args: Any) -> None:
        executed[-1].add(id(clause))

    repo = Repository(engine)
    claims = []
    for n in range(3):
        executed.append(set())
        claims.append(repo.claim_due(1_000_000 + n, BATCH, 60_000))
    assert all(len(c) == BATCH for c in claims)
    assert len({c.id for batch in claims for c in batch}) == 3 * BATCH
    # the same statements each time (the leases inserted through the driver's
    # executemany, storage/lean.py, are not among them)
    assert executed[0] == executed[1] == executed[2]
    assert executed[0]
