"""A SQLite URL's own `?timeout=` (pysqlite's seconds, as SQLAlchemy documents it)
is how long the database's users wait for a lock: our 5 s overrode it unsaid, and
a value that is not a number raised a traceback at the first connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from support.cli import run_cli

from monitor.storage.engine import BUSY_TIMEOUT_MS, make_engine


def busy_timeout(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("PRAGMA busy_timeout")).scalar_one())
    finally:
        engine.dispose()


def test_the_urls_timeout_is_the_wait_for_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "am.db"
    assert busy_timeout(f"sqlite:///{path}") == BUSY_TIMEOUT_MS
    assert busy_timeout(f"sqlite:///{path}?timeout=0.25") == 250
    assert busy_timeout(f"sqlite:///{path}?timeout=0") == 0


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "7200"])
def test_a_timeout_that_is_not_a_wait_is_refused(tmp_path: Path, value: str) -> None:
    db = tmp_path / "am.db"
    sqlite3.connect(db).close()
    out = run_cli("status", "--db", f"sqlite:///{db}?timeout={value}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"Error: not a database URL: its ?timeout= is '{value}'")
    assert "Traceback" not in out.stderr
