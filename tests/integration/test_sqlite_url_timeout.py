"""A SQLite URL's own `?timeout=` (pysqlite's seconds, as SQLAlchemy documents it)
is how long the database's users wait for a lock: our 5 s overrode it unsaid, and
a value that is not a number raised a traceback at the first connection."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url
from support.cli import run_cli

from monitor.storage.engine import BUSY_TIMEOUT_MS, check_sqlite_query, make_engine

# pysqlite's parameters (SQLAlchemy reads each with a type), and one of the SQLite URI's
SQLITE_KEYS = ["timeout", "uri", "detect_types", "check_same_thread", "cached_statements", "mode"]


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


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("timeout=1&timeout=2", "its ?timeout= is given 2 times"),
        ("timeout=abc&timeout=1", "its ?timeout= is given 2 times"),
        ("timeout=2&detect_types=1&detect_types=2", "?detect_types= given more than once"),
        ("timeout=2&cached_statements=abc", "cannot read its query (invalid literal"),
        ("timeout=2&check_same_thread=maybe", "cannot read its query (String is not true/false"),
    ],
)
@pytest.mark.parametrize("command", ["status", "db upgrade"])
def test_a_query_the_driver_cannot_read_is_refused(
    tmp_path: Path, query: str, said: str, command: str
) -> None:
    """A key given twice reached pysqlite as a tuple (float() of it), and its other
    typed parameters were coerced when the engine was made: exit 70, a traceback."""
    db = tmp_path / "am.db"
    sqlite3.connect(db).close()
    out = run_cli(*command.split(), "--db", f"sqlite:///{db}?{query}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("Error: not a database URL: "), out.stderr
    assert said in out.stderr
    assert "Traceback" not in out.stderr


@given(st.dictionaries(st.sampled_from(SQLITE_KEYS), st.lists(st.text(), min_size=1, max_size=2)))
@settings(max_examples=200, deadline=None)
def test_a_query_is_refused_or_makes_an_engine(query: dict[str, list[str]]) -> None:
    """Whatever the query, a ValueError that says why, or an engine (never a
    TypeError or ValueError from the driver's own reading of it)."""
    url = "sqlite:////nonexistent-dir-r14/am.db?" + urlencode(query, doseq=True)
    try:
        check_sqlite_query(url)
    except ValueError:
        return
    with warnings.catch_warnings():  # parameters it ignores (mode= without uri=true)
        warnings.simplefilter("ignore")
        make_url(url).get_dialect()().create_connect_args(make_url(url))
