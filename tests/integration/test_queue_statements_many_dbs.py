"""One process, several databases: the queue's and the page marks' statements
are built once per dialect (queue_sql.py, pages.py) and must not carry one
database's state to another (issue 16 hostile review): two SQLite files and a
PostgreSQL database claimed and written in turn each see only their own rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import Engine
from test_storage import FP, T0, done, record

from monitor.content.simhash import PageMark
from monitor.daemon.state import State, TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)


def test_claims_and_writes_in_turn_keep_to_their_own_database(
    tmp_path: Path, engine: Engine
) -> None:
    """Two SQLite files and the third database, SQLite or PostgreSQL (the shared
    `engine` fixture)."""
    engines = [make_engine(f"sqlite:///{tmp_path / n}") for n in ("a.db", "b.db")] + [engine]
    repos = []
    for n, eng in enumerate(engines):
        upgrade(eng)
        repo = Repository(eng)
        repo.store_document("a.txt", FP, [record(f"https://n{n}.test/a/", images=0)], 0, T0)
        repos.append(repo)
    try:
        at = T0
        for _ in range(3):
            at += 120_000
            for n, repo in enumerate(repos):
                claims = repo.claim_due(at, 100, 30_000)
                assert claims and all(f"n{n}.test" in c.url for c in claims), n
                mark = PageMark(n, f"{n:016x}", 14)
                repo.record(
                    [
                        dataclasses.replace(done(c.id, c.lease, at, Outcome.OK, UP, UP), page=mark)
                        for c in claims
                    ]
                )
                assert repo.claim_due(at, 100, 30_000) == []  # recorded, not due again
    finally:
        for eng in engines[:2]:
            eng.dispose()
