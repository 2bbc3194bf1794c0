"""remove_unused: only a database with nothing but a schema, open nowhere else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.storage.opening import remove_unused


def _made(path: Path, *, row: bool) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.execute("INSERT INTO alembic_version VALUES ('head')")
    conn.execute("CREATE TABLE targets (id INTEGER)")
    if row:
        conn.execute("INSERT INTO targets VALUES (1)")
    conn.commit()
    conn.close()


def test_a_schema_alone_is_removed_with_its_side_files(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _made(db, row=False)
    assert remove_unused(db)
    assert list(tmp_path.iterdir()) == []


def test_a_file_with_a_row_or_open_elsewhere_or_absent_is_kept(tmp_path: Path) -> None:
    full = tmp_path / "full.db"
    _made(full, row=True)
    assert not remove_unused(full) and full.exists()
    shared = tmp_path / "shared.db"
    _made(shared, row=False)
    other = sqlite3.connect(shared)
    other.execute("SELECT count(*) FROM targets").fetchall()  # a reader holds it open
    try:
        assert not remove_unused(shared) and shared.exists()
    finally:
        other.close()
    assert not remove_unused(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()
