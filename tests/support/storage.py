"""Fixtures of the storage tests: each runs on SQLite and, where configured, PostgreSQL.

Offered to every test by tests/conftest.py (a test module may define its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from support.pg import pg_engine


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
    upgrade(engine)
    return Repository(engine)
