"""The daemon, in process, when its database fails after the start: a damaged file
stops it with a clear reason (exit 2), a corpus that cannot be recorded fails
readiness and makes `--once` fail (exit 1). The errors are real SQLite errors.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.exc import DatabaseError, OperationalError

from monitor.config import load_settings
from monitor.daemon.scan import CorpusScanner, ScanReport
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.storage.repository import Repository


def sqlite_error(tmp: Path, sql: str, *, path: Path) -> sqlite3.Error:
    """The error SQLite itself raises for `sql` on the file at `path`."""
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


def busy_error(tmp: Path) -> sqlite3.Error:
    """SQLite's own "database is locked", from a file another connection holds."""
    path = tmp / "lock.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("create table t(a)")
    holder.execute("begin exclusive")
    try:
        return sqlite_error(tmp, "select * from t", path=path)
    finally:
        holder.rollback()
        holder.close()


@pytest.fixture
async def site() -> AsyncIterator[int]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><head><title>A</title></head></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        assert server.port is not None
        yield server.port
    finally:
        await server.close()


def daemon_for(tmp: Path, port: int, **extra: Any) -> Daemon:
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"webUrl": "http://news.test/a"}) + "\n")
    values = {
        "paths": [corpus],
        "data_dir": tmp / "data",
        "listen": "127.0.0.1:0",
        "allow_network": ["127.0.0.0/8"],
        "connect_to": [f"::127.0.0.1:{port}"],
        "interval": 0.2,
        "interval_jitter": 0.0,
        "retries": 0,
        "shutdown_grace": 1.0,
        **extra,
    }
    return Daemon(load_settings(None, values, environ={}), KeyRing.load([]))


async def test_a_database_found_damaged_while_running_stops_the_daemon(
    tmp_path: Path, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_file = tmp_path / "not-a-db"
    text_file.write_text("not a database\n" * 100)
    damage = sqlite_error(tmp_path, "select 1 from sqlite_master", path=text_file)
    assert damage.sqlite_errorcode == sqlite3.SQLITE_NOTADB

    def record(self: Repository, records: Sequence[object]) -> None:
        raise DatabaseError("INSERT INTO check_results ...", None, damage)

    monkeypatch.setattr(Repository, "record", record)
    daemon = daemon_for(tmp_path, site)
    code = await asyncio.wait_for(daemon.run(), 60)
    assert code == 2
    assert daemon.failure is not None and "is damaged (file is not a database)" in daemon.failure


async def test_a_corpus_that_cannot_be_recorded_fails_readiness_then_recovers(
    tmp_path: Path, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = busy_error(tmp_path)
    fail = {"on": True}
    real_scan = CorpusScanner.scan

    def scan(self: CorpusScanner, *, force: bool = False, **kw: Any) -> ScanReport:
        if fail["on"]:
            raise OperationalError("INSERT INTO documents ...", None, busy)
        return real_scan(self, force=force, **kw)

    monkeypatch.setattr(CorpusScanner, "scan", scan)
    daemon = daemon_for(tmp_path, site, rescan_interval=0.05)
    running = asyncio.create_task(daemon.run())
    try:
        for _ in range(400):  # bounded: the scheduler starts within a few ticks
            if daemon.scheduler is not None:
                break
            await asyncio.sleep(0.01)
        ready, detail = await daemon.readiness()
        assert not ready and "database is locked" in detail["scan"], detail
        fail["on"] = False
        for _ in range(400):
            if daemon.scan_error is None:
                break
            await asyncio.sleep(0.01)
        ready, detail = await daemon.readiness()
        assert "scan" not in detail, detail
    finally:
        daemon.stop()
        assert await asyncio.wait_for(running, 30) == 0


async def test_run_once_fails_when_the_corpus_cannot_be_recorded(
    tmp_path: Path, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = busy_error(tmp_path)

    def scan(self: CorpusScanner, *, force: bool = False, **kw: Any) -> ScanReport:
        raise OperationalError("INSERT INTO documents ...", None, busy)

    monkeypatch.setattr(CorpusScanner, "scan", scan)
    daemon = daemon_for(tmp_path, site, once=True)
    assert await asyncio.wait_for(daemon.run(), 60) == 1
    assert daemon.failure == "the corpus could not be recorded: database is locked"
