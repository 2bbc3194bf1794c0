"""A SIGHUP's configuration without corpus paths is refused, as the start refuses it."""

from __future__ import annotations

import signal
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config

URL = "http://news.test/a/"


def test_sighup_refuses_a_configuration_without_paths(tmp_path: Path) -> None:
    """`paths = []` makes `run` exit 2 ("no PATH given"); on a reload it was taken,
    and the rescan retired every document of the corpus ("is gone") and said
    "no documents found under  (…)"."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        db = tmp_path / "data" / "article-monitor.db"
        active = "select count(*) from targets where next_due is not null"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, active) == [(1,)], what=daemon.text)
            write_config(tmp_path, site.port, rescan_interval=3600.0, paths=[])
            daemon.signal(signal.SIGHUP)
            wait_for(
                lambda: (
                    "reload refused" in daemon.text() or "configuration reloaded" in daemon.text()
                ),
                what=daemon.text,
            )
            assert daemon.get("/healthz")[0] == 200
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
        assert query(db, active) == [(1,)]
    text = daemon.text()
    assert "reload refused, keeping the running configuration: no PATH given" in text
    assert "is gone" not in text


def test_sighup_applies_a_new_rescan_interval(tmp_path: Path) -> None:
    """The rescan's period was fixed at the start: a reload from an hour to half a
    second said "configuration reloaded" (only network, listen and database
    settings apply on restart), and a document added after it waited the hour."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        db = tmp_path / "data" / "article-monitor.db"
        active = "select url from targets where next_due is not null order by url"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, active) == [(URL,)], what=daemon.text)
            write_config(tmp_path, site.port, rescan_interval=0.5)
            daemon.signal(signal.SIGHUP)
            # the reload's own rescan (it reads a.txt again): b.txt must come from a later one
            wait_for(lambda: "1 read again unchanged" in daemon.text(), what=daemon.text)
            (tmp_path / "corpus" / "b.txt").write_text(article("http://news.test/b/"))
            wait_for(
                lambda: query(db, active) == [(URL,), ("http://news.test/b/",)],
                what=daemon.text,
            )
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
