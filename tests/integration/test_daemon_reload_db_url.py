"""A SIGHUP's new `db` or `data_dir` applies on restart: the daemon goes on with
the database it opened, and names that one when it finds it damaged."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError

from monitor.config import Settings, load_settings
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.storage.repository import Repository


def not_a_database(tmp: Path) -> sqlite3.Error:
    """SQLite's own SQLITE_NOTADB, from a text file."""
    path = tmp / "not-a-db"
    path.write_text("not a database\n" * 100)
    conn = sqlite3.connect(path)
    try:
        conn.execute("select 1 from sqlite_master")
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("the text file was read as a database")


async def test_damage_after_a_reload_that_moved_the_database_names_the_open_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It named the reloaded data_dir's file, which the daemon never opened: an
    operator told to restore /elsewhere/article-monitor.db from a backup."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"webUrl": "http://news.test/a"}) + "\n")
    values = {
        "paths": [corpus],
        "data_dir": tmp_path / "data",
        "listen": "127.0.0.1:0",
        "kinds": ["web"],
        "interval": 0.2,
        "shutdown_grace": 1.0,
    }
    settings = load_settings(None, values, environ={})
    moved = load_settings(None, {**values, "data_dir": tmp_path / "elsewhere"}, environ={})

    def reload() -> tuple[Settings, KeyRing]:
        return moved, KeyRing.load([])

    damage = not_a_database(tmp_path)
    damaged = False

    def record(self: Repository, records: Sequence[object]) -> None:
        if damaged:
            raise DatabaseError("INSERT INTO check_results ...", None, damage)

    monkeypatch.setattr(Repository, "record", record)
    daemon = Daemon(settings, KeyRing.load([]), reload=reload)
    run = asyncio.create_task(daemon.run())
    for _ in range(600):  # bounded: 30 s
        if daemon.scheduler is not None or run.done():
            break
        await asyncio.sleep(0.05)
    assert daemon.scheduler is not None
    await daemon.reload()
    assert daemon.settings.data_dir == tmp_path / "data"  # kept until the restart
    damaged = True
    code = await asyncio.wait_for(run, 60)
    assert code == 2
    assert daemon.failure is not None
    assert str(tmp_path / "data" / "article-monitor.db") in daemon.failure
    assert "elsewhere" not in daemon.failure
