"""A running daemon's overview tells what the daemon itself knows is wrong
(session 16, G5): a hostile review ran it with a corpus path removed and on a
full disk, /readyz said so, and `/` showed its counts as usual. The banner comes
and goes with the fault."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config
from support.fsfaults import fill
from test_daemon_faults import small_fs

__all__ = ["small_fs"]  # the fixture, shared with the other full-disk tests

BANNER = 'class="troubles"'


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def overview(daemon: DaemonProcess) -> str:
    status, body = daemon.get("/")
    assert status == 200, body
    return body


def stop(daemon: DaemonProcess) -> None:
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.text()


def test_a_removed_corpus_path_is_on_the_overview_until_it_is_back(tmp_path: Path) -> None:
    gone = tmp_path / "<b>news<i> & co"  # a path is shown as text, never as markup
    gone.mkdir()
    (gone / "a.txt").write_text(article("http://news.test/a/"))
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, paths=[str(tmp_path / "corpus"), str(gone)])
        db = tmp_path / "data" / "article-monitor.db"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 1, what=daemon.text)
            assert BANNER not in overview(daemon)
            gone.rename(tmp_path / "elsewhere")

            def banner() -> str | None:
                body = overview(daemon)
                return body if BANNER in body else None

            body = wait_for(banner, 15, what=daemon.text)
            assert "<strong>corpus</strong>" in body
            assert f"corpus path missing: {tmp_path}/&lt;b&gt;news&lt;i&gt; &amp; co" in body
            assert "<b>news" not in body
            assert "corpus path missing" in json.dumps(json.loads(daemon.get("/readyz")[1]))
            (tmp_path / "elsewhere").rename(gone)
            wait_for(lambda: BANNER not in overview(daemon), 15, what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()


def test_failing_writes_on_a_full_disk_are_on_the_overview(tmp_path: Path, small_fs: Path) -> None:
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
            assert BANNER not in overview(daemon)
            filler = fill(small_fs)
            for i in range(40, 240):  # new documents: the rescan and the results want pages
                (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))

            def full() -> str | None:
                body = daemon.get("/")[1]
                return body if "disk is full" in body else None

            body = wait_for(full, 20, what=daemon.text)
            assert BANNER in body and "since" in body
            assert any(f"<strong>{p}</strong>" in body for p in ("writes", "corpus scan"))
            filler.unlink()
            wait_for(lambda: BANNER not in overview(daemon), 20, what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()
