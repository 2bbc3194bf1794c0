"""Issue 10 item 5: a damaged, empty or foreign database file is refused at the door,
left as it was, and results that could not be recorded make `run --once` fail.

The damaged file is a real one: a database the daemon wrote, with random bytes
over a few of its pages (what a bad disk or a careless copy leaves).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from daemon_harness import (
    CLI,
    LinkServer,
    article,
    query,
    wait_for,
    write_config,
)

PAGE_SIZE = 4096


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=90)


def refused(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("Error:") and "Traceback" not in out.stderr, out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def quick_check(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("pragma quick_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()


def a_recorded_history(tmp: Path, site: LinkServer, articles: int = 30) -> tuple[Path, Path]:
    """The config and the database of a corpus checked once, the database closed cleanly."""
    cfg = write_config(tmp, site.port)
    for i in range(articles):
        (tmp / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
    out = cli("run", "--config", cfg, "--once")
    assert out.returncode == 0, out.stderr
    db = tmp / "data" / "article-monitor.db"
    assert results(db) == articles
    conn = sqlite3.connect(db)
    conn.execute("pragma wal_checkpoint(TRUNCATE)")  # all of it in the main file
    conn.close()
    return cfg, db


def damage(db: Path, seed: int = 10) -> None:
    """Random bytes over every third page past the schema page."""
    rng = random.Random(seed)
    pages = db.stat().st_size // PAGE_SIZE
    with db.open("r+b") as f:
        for page in range(2, pages, 3):
            f.seek(page * PAGE_SIZE)
            f.write(rng.randbytes(PAGE_SIZE))


def test_a_database_with_damaged_pages_is_refused_and_left_untouched(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg, db = a_recorded_history(tmp_path, site)
        damage(db)
        assert quick_check(db) != ["ok"]
        damaged = db.read_bytes()
        hits = site.hits
        for command in (("run", "--once"), ("run",), ("status",), ("db", "upgrade")):
            refused(cli(*command, "--config", cfg), str(db), "is damaged", ".recover")
        refused(cli("history", "http://news.test/1/", "--config", cfg), "is damaged")
        assert db.read_bytes() == damaged  # nothing wrote into it
        assert site.hits == hits  # nothing was checked either


def test_an_empty_database_file_is_refused_not_recreated(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        db = tmp_path / "data" / "article-monitor.db"
        db.parent.mkdir()
        db.touch()
        for command in (("run", "--once"), ("run",), ("status",), ("db", "upgrade")):
            refused(cli(*command, "--config", cfg), str(db), "is empty (0 bytes)", "delete it")
        assert db.stat().st_size == 0 and site.hits == 0
        db.unlink()  # the way out the message gives
        assert cli("run", "--config", cfg, "--once").returncode == 0
        assert results(db) == 1


class GatedServer(LinkServer):
    """Holds every request until `open_gate()`: the test acts while checks are in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0
        self._gate: asyncio.Event | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if self._gate is None:
            self._gate = asyncio.Event()
        self.waiting += 1
        await self._gate.wait()
        return await super()._handle(request)

    def open_gate(self) -> None:
        def _open() -> None:
            if self._gate is None:
                self._gate = asyncio.Event()
            self._gate.set()

        self._loop.call_soon_threadsafe(_open)


def test_run_once_fails_when_its_results_cannot_be_recorded(tmp_path: Path) -> None:
    db = tmp_path / "data" / "article-monitor.db"
    with GatedServer() as site:
        # a lock is waited for 0.1 s, not 5: the same tries and exit, ~11 s rather
        # than 48 (0.5 s: ~15 s; the rest is the writer's backoff up to the pass's end)
        url = f"sqlite:///{db}?timeout=0.1"
        cfg = write_config(tmp_path, site.port, shutdown_grace=1.0, db=url)
        for i in range(3):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        proc = subprocess.Popen(
            [CLI, "run", "--config", str(cfg), "--once"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_for(lambda: site.waiting == 3, 60)  # claimed, checks in flight
            # and the first scan's last write (the rules' digest) made: the claims
            # follow its batches, so its tail could still be writing, and failed on
            # the lock below it was the error said (a slow machine's run, once)
            wait_for(lambda: query(db, "select 1 from meta where key = 'corpus_rules'"), 60)
            holder = sqlite3.connect(db, timeout=30, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # longer than the daemon's busy timeout
            try:
                site.open_gate()
                _, err = proc.communicate(timeout=60)
            finally:
                holder.rollback()
                holder.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: 3 results could not be recorded: database is locked"], err
    assert "Traceback" not in err
    assert results(db) == 0 and quick_check(db) == ["ok"]


@pytest.mark.parametrize("size", [0, 100])
def test_a_database_path_that_is_a_directory_or_short_file(tmp_path: Path, size: int) -> None:
    db = tmp_path / "x.db"
    if size:
        db.write_bytes(b"\0" * size)  # shorter than a SQLite header
    else:
        db.mkdir()
    out = cli("status", "--db", f"sqlite:///{db}")
    refused(out, str(db))


def test_an_empty_database_with_a_write_ahead_log_beside_it_is_refused(tmp_path: Path) -> None:
    """What a file truncated under a running daemon leaves: 0 bytes and its -wal.
    SQLite opens the pair as an empty database; starting on it would lose the
    history without a word."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "article-monitor.db"
    db.touch()
    (data / "article-monitor.db-wal").write_bytes(b"\0" * 32992)
    refused(cli("status", "--data-dir", data), "is empty (0 bytes)", "article-monitor.db-wal")
    refused(cli("db", "upgrade", "--data-dir", data), "is empty (0 bytes)")
    assert db.stat().st_size == 0
