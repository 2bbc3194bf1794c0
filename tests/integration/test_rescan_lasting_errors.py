"""Which database errors a failed corpus scan is retried for, told by the driver's
code: real errors raised by real SQLite (and PostgreSQL where configured) through
SQLAlchemy. A missing table, a read-only file or a file that is not a database
share the DB-API's OperationalError (or DatabaseError) with a full disk and a
lock; they were retried every few seconds for as long as the daemon ran."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from support.pg import PG_URL

from monitor.daemon.rescan_retry import transient


def raised(url: str, *statements: str, **connect_args: object) -> SQLAlchemyError:
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{statements} did not fail")


def a_table(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("create table t(a)")
    return path


def full(tmp: Path) -> SQLAlchemyError:
    path = a_table(tmp / "full.db")
    return raised(
        f"sqlite:///{path}",
        "PRAGMA max_page_count = 2",
        "INSERT INTO t SELECT zeroblob(100000)",
    )


def locked(tmp: Path) -> SQLAlchemyError:
    path = a_table(tmp / "locked.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("begin exclusive")
    try:
        return raised(f"sqlite:///{path}", "SELECT * FROM t", timeout=0)
    finally:
        holder.rollback()
        holder.close()


def no_table(tmp: Path) -> SQLAlchemyError:
    return raised(f"sqlite:///{a_table(tmp / 'schema.db')}", "SELECT * FROM documents")


def no_column(tmp: Path) -> SQLAlchemyError:
    return raised(f"sqlite:///{a_table(tmp / 'schema.db')}", "SELECT nope FROM t")


def read_only(tmp: Path) -> SQLAlchemyError:
    path = a_table(tmp / "ro.db")
    return raised(f"sqlite:///file:{path}?mode=ro&uri=true", "INSERT INTO t VALUES (1)")


def not_a_database(tmp: Path) -> SQLAlchemyError:
    path = tmp / "garbage.db"
    path.write_bytes(b"not a database, just text\n" * 200)
    return raised(f"sqlite:///{path}", "SELECT * FROM sqlite_master")


PASSING: list[Callable[[Path], SQLAlchemyError]] = [full, locked]
LASTING: list[Callable[[Path], SQLAlchemyError]] = [no_table, no_column, read_only, not_a_database]


@pytest.mark.parametrize("make", PASSING, ids=lambda f: f.__name__)
def test_a_full_disk_or_a_lock_is_retried(tmp_path: Path, make: Callable[..., Any]) -> None:
    exc = make(tmp_path)
    assert isinstance(exc, OperationalError)
    assert transient(exc)


@pytest.mark.parametrize("make", LASTING, ids=lambda f: f.__name__)
def test_a_missing_table_a_read_only_or_damaged_file_is_not(
    tmp_path: Path, make: Callable[..., Any]
) -> None:
    exc = make(tmp_path)
    assert not transient(exc), (type(exc).__name__, exc.orig)


@pytest.mark.postgres
def test_postgresql_is_told_by_its_sqlstate() -> None:
    """A missing table (42P01) lasts; a statement cancelled by its timeout (57014,
    an OperationalError) passes, as a lock not available (55P03) would."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    missing = raised(PG_URL, "SELECT * FROM am_no_such_table")
    assert getattr(missing.orig, "sqlstate", None) == "42P01"
    assert not transient(missing)
    cancelled = raised(PG_URL, "SET statement_timeout = 1", "SELECT pg_sleep(5)")
    assert isinstance(cancelled, OperationalError)
    assert getattr(cancelled.orig, "sqlstate", None) == "57014"
    assert transient(cancelled)
