"""Fixtures of the storage tests: each runs on SQLite and, where configured, PostgreSQL.

Offered to every test by tests/conftest.py (a test module may define its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, DUE, TARGETS, Repository, now_ms
from support.pg import pg_engine
from support.upgraded import migrated_db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database: a SQLite file, or a new schema on the test PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'db' / 'am.db'}")
        yield eng
        eng.dispose()
    else:
        yield from pg_engine()


@pytest.fixture
def repo(engine: Engine) -> Repository:
    at_head(engine)
    return Repository(engine)


def at_head(engine: Engine) -> None:
    """The schema at `engine` at its head, as `upgrade(engine)` leaves it. A SQLite
    file not made yet is a copy of one migrated once per worker (migrated_db: the
    same bytes, no -wal beside it); the migrations were most of a storage test's
    setup (~50 ms of CPU each, against ~3 ms). `upgrade` then finds it at its head
    (one read) and does nothing; a test ABOUT the migrations calls `upgrade` on a
    fresh `engine` itself."""
    database = engine.url.database or ""
    fresh_file = (
        engine.dialect.name == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
        and not Path(database).exists()
    )
    if fresh_file:
        migrated_db(Path(database))
    upgrade(engine)


def seed_due_targets(conn: Connection, count: int) -> None:
    """Targets 1..count (web pages over 7 hosts), every one due now: the queue's raw rows."""
    ids = range(1, count + 1)
    targets = [
        {"id": i, "url": f"https://h{i % 7}.test/{i}", "kind": "web", "next_due": 0, "active": 1}
        for i in ids
    ]
    conn.execute(TARGETS.insert(), targets)
    conn.execute(DUE.insert(), [{"due": 0, "target_id": i, "bucket": None} for i in ids])


def midday() -> int:
    """Noon UTC today: a day rolls up only ROLLUP_GRACE_MS (an hour) after it ends,
    so a test that counts the days rolled up from the real clock failed when run
    in the first hour after midnight (yesterday not complete yet)."""
    return now_ms() // DAY_MS * DAY_MS + DAY_MS // 2
