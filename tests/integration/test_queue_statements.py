"""The queue's claims execute statements built once per dialect (issue 16):
building each claim's statements anew (and SQLAlchemy's cache key of each)
was ~5% of the daemon parent's CPU. Observed by the objects SQLAlchemy is
asked to execute, never by time."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import event
from support.storage import seed_due_targets
from test_storage import FP, T0, done, record

from monitor.content.simhash import PageMark
from monitor.daemon.state import State, TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.vocabulary import Outcome

TARGET_COUNT = 300
UP = TargetState(State.UP, 0, 1)
BATCH = 50


def test_every_claim_executes_the_same_statement_objects(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        seed_due_targets(conn, TARGET_COUNT)
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


def test_every_result_write_executes_the_same_statement_objects(repo: Repository) -> None:
    """The same for the writes, on both dialects: the leases ended, the targets
    read, the page marks compared (storage/pages.py), the last check stamped."""
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    (target,) = [c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/"]
    executed: list[set[int]] = []

    @event.listens_for(repo.engine, "before_execute")
    def _seen(conn: Any, clause: Any, *args: Any) -> None:
        if executed:
            executed[-1].add(id(clause))

    at, lease = T0, target.lease
    for _ in range(3):  # the same mark each time: compared, not written again
        at += 60_000
        executed.append(set())
        rec = done(target.id, lease, at, Outcome.OK, UP, UP)
        repo.record([dataclasses.replace(rec, page=PageMark(7, "k", 14))])
        executed.append(set())  # the claims' statements apart
        (again,) = [c for c in repo.claim_due(at + 60_000, 10, 30_000) if c.id == target.id]
        lease = again.lease
    writes = executed[::2]
    assert writes[1] == writes[2] and writes[1]
