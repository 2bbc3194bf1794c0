"""A database that is locked by another process, or on a full disk, is explained
with what to do (hostile review of the database's life): both were the bare
SQLite text after the path (`am.db: database is locked`, `am.db: database or
disk is full`). Real SQLite errors: a held write lock, and max_page_count for
a full disk (no root, no small filesystem needed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from monitor.storage.engine import make_engine
from monitor.storage.opening import explain


def test_a_database_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "am.db"
    url = f"sqlite:///{path}"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(url, busy_timeout_ms=0)
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        said = explain(caught.value, url)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    assert said.startswith(f"{path} is locked by another process (database is locked)")
    assert "try again" in said


def test_a_full_disk(tmp_path: Path) -> None:
    path = tmp_path / "am.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
            conn.exec_driver_sql("PRAGMA max_page_count = 4")  # the disk is full at 4 pages
            for _ in range(20):
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 2000})
        said = explain(caught.value, url)
    finally:
        engine.dispose()
    assert said.startswith(f"cannot write {path} (database or disk is full)")
    assert "free some space" in said
