"""The daemon under faults (issue 4, "Operations"): a locked database, a full
disk, an unreadable document; and `duplicate_url` across documents, end to end.
Each fault is logged, retried, the daemon stays up and /readyz says what is wrong.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner
from daemon_harness import DaemonProcess, LinkServer, article, metric, query, wait_for, write_config
from support.fsfaults import fill, small_tmpfs

from monitor.cli import cli

URL = "http://news.test/a/"


def db_of(tmp: Path) -> Path:
    return tmp / "data" / "article-monitor.db"


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def readyz(daemon: DaemonProcess) -> tuple[int, dict[str, object]]:
    status, body = daemon.get("/readyz")
    return status, json.loads(body)


class SlowServer(LinkServer):
    """Answers after `delay`: checks are still in flight when the test locks the database."""

    delay = 1.0
    inflight = 0

    async def _handle(self, request: web.Request) -> web.Response:
        self.inflight += 1
        try:
            await asyncio.sleep(self.delay)
            return await super()._handle(request)  # counts the hit
        finally:
            self.inflight -= 1


def stop(daemon: DaemonProcess) -> None:
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.text()


def test_a_locked_database_is_reported_and_nothing_is_lost(tmp_path: Path) -> None:
    with SlowServer() as site:
        site.hits = 0
        db = db_of(tmp_path)
        # a lock is waited for 0.5 s, not 5: the writer and the claims fail on it sooner
        cfg = write_config(tmp_path, site.port, concurrency=8, db=f"sqlite:///{db}?timeout=0.5")
        for i in range(4):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 4, what=daemon.text)
            wait_for(lambda: site.inflight > 0, what=daemon.text)  # their results will queue
            holder = sqlite3.connect(db, timeout=10, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # beyond the daemon's busy timeout
            try:
                locked_at = results(db)

                def not_ready() -> dict[str, object] | None:
                    """Unready because the writer or the claims failed on the lock: each
                    says so again once it works (a 503 for the corpus scan's failure
                    alone let the lock go before their busy timeouts ran out, and
                    nothing said "works again": 2 runs of 2 under load)."""
                    status, body = readyz(daemon)
                    failing = f"{body.get('writer')} {body.get('claims')}"
                    return body if status == 503 and "locked" in failing else None

                body = wait_for(not_ready, 15, what=daemon.text)
                assert "locked" in json.dumps(body), body
                assert body["database"] == "ok"  # readers still get through (WAL)
                # what was checked meanwhile waits in the writer's queue
                wait_for(lambda: readyz(daemon)[1]["backlog"], 10, what=daemon.text)
                assert daemon.proc.poll() is None
                assert results(db) == locked_at  # nothing could be written
            finally:
                holder.rollback()
                holder.close()
            wait_for(lambda: readyz(daemon)[0] == 200, 15, what=daemon.text)
            wait_for(lambda: results(db) > locked_at, 10, what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()
        # every request the site answered was recorded: the buffered batch survived
        assert results(db) == site.hits
    text = daemon.text()
    assert "database is locked" in text
    assert "database writes work again" in text or "claiming works again" in text


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB tmpfs, where the system lets us mount one (root, no seccomp veto)."""
    with small_tmpfs(tmp_path / "small") as mount:
        yield mount


def test_a_full_disk_is_reported_and_writes_resume(tmp_path: Path, small_fs: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(
            tmp_path, site.port, data_dir=str(small_fs), concurrency=16, interval=0.1
        )
        for i in range(40):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        db = small_fs / "article-monitor.db"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 40, what=daemon.text)
            filler = fill(small_fs)
            # new documents need new pages: the rescan and the results both want space
            for i in range(40, 240):
                (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))

            def full() -> dict[str, object] | None:
                status, body = readyz(daemon)
                return body if status == 503 else None

            body = wait_for(full, 20, what=daemon.text)
            assert "full" in json.dumps(body), body
            assert daemon.proc.poll() is None
            filler.unlink()
            wait_for(lambda: readyz(daemon)[0] == 200, 20, what=daemon.text)
            before = results(db)
            wait_for(lambda: results(db) > before, 10, what=daemon.text)
            wait_for(lambda: query(db, "select count(*) from articles") == [(240,)], 20)
            stop(daemon)
        finally:
            daemon.kill()
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert "database or disk is full" in daemon.text()


def test_unreadable_documents_are_reported_by_path(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        corpus = tmp_path / "corpus"
        (corpus / "a.txt").write_text(article(URL))
        fifo = corpus / "pipe.txt"
        os.mkfifo(fifo)  # a read would block forever (and chmod 000 does not stop root)
        (corpus / "latin1.txt").write_bytes(b"---\nwebUrl: 'http://news.test/\xe9'\n---\n")
        db = db_of(tmp_path)
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 2, what=daemon.text)

            def reported() -> bool:
                corpus_problems = readyz(daemon)[1]["corpus"]
                assert isinstance(corpus_problems, list)
                return f"unreadable document: {fifo}" in corpus_problems

            wait_for(reported, what=daemon.text)
            # gauges come from a background snapshot of the database: they follow shortly
            wait_for(
                lambda: (
                    metric(daemon.get("/metrics")[1], "article_monitor_invalid_documents") == 2
                ),  # the FIFO, the bytes
                what=daemon.text,
            )
            assert metric(daemon.get("/metrics")[1], "article_monitor_articles") == 1
            # later rescans keep going (the FIFO did not block them): a new file is picked up
            (corpus / "b.txt").write_text(article("http://news.test/b/"))
            wait_for(
                lambda: metric(daemon.get("/metrics")[1], "article_monitor_articles") == 2,
                what=daemon.text,
            )
            # once the FIFO is replaced by a real file, it is read and counted
            fifo.unlink()
            fifo.write_text(article("http://news.test/c/"))
            wait_for(
                lambda: metric(daemon.get("/metrics")[1], "article_monitor_invalid_documents") == 1,
                what=daemon.text,
            )
            # the gauge can see the database before the pass that wrote it ends
            wait_for(lambda: readyz(daemon)[1]["corpus"] == [], what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()
    text = daemon.text()
    assert f"cannot read {fifo}: not a regular file" in text
    assert text.count(f"cannot read {fifo}") == 1  # once, not at every rescan
    assert "latin1.txt" in text and "not valid UTF-8" in text


def test_duplicate_weburl_across_documents_end_to_end(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        corpus = tmp_path / "corpus"
        (corpus / "a.txt").write_text(article(URL))
        (corpus / "b.txt").write_text(article(URL))
        (corpus / "c.txt").write_text(article("http://news.test/c/"))
        daemon = DaemonProcess(cfg)
        data = ["--data-dir", str(tmp_path / "data"), "--format", "json"]

        def dup_status() -> int:
            out = CliRunner().invoke(cli, ["status", *data])
            assert out.exit_code == 0, out.output
            return int(json.loads(out.output)["problems"].get("duplicate_url", 0))

        def dup_metric() -> float | None:
            return metric(
                daemon.get("/metrics")[1], "article_monitor_problems", code="duplicate_url"
            )

        try:
            daemon.wait_listening()
            wait_for(lambda: dup_status() == 1, what=daemon.text)
            wait_for(lambda: dup_metric() == 1, what=daemon.text)
            (corpus / "b.txt").unlink()
            wait_for(lambda: dup_status() == 0, what=daemon.text)
            wait_for(lambda: dup_metric() == 0, what=daemon.text)
            # the article itself is still there and still checked
            assert metric(daemon.get("/metrics")[1], "article_monitor_articles") == 2
            stop(daemon)
        finally:
            daemon.kill()
    assert "duplicate_url: article" in daemon.text()
