"""A SIGHUP reads every corpus file again (new keys or rules may change their
verdicts): the daemon says so as that, not as edits. It logged "updated document
F" for every file of the corpus and "N changed" for the pass, none having changed
(11 lines and "11 files, 11 changed" for the bundled examples; one line a file for
a corpus of 100,000), so an operator read a reload as the corpus rewritten."""

from __future__ import annotations

import signal
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config


def test_a_reload_reads_the_files_again_as_unchanged(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        for name in ("a", "b"):
            (tmp_path / "corpus" / f"{name}.txt").write_text(article(f"http://news.test/{name}/"))
        db = tmp_path / "data" / "article-monitor.db"
        active = "select count(*) from targets where next_due is not null"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, active) == [(2,)], what=daemon.text)
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "read again unchanged" in daemon.text(), what=daemon.text)
            text = daemon.text()
            said = "2 files, 0 changed, 0 removed, 0 invalid records, 2 read again unchanged"
            assert said in text
            assert "updated document" not in text
            (tmp_path / "corpus" / "b.txt").write_text(article("http://news.test/b2/"))
            daemon.signal(signal.SIGHUP)  # an edit is still said as one
            # the pass's line, which comes after its files' (waiting for "updated
            # document" read the log between the two on a loaded machine)
            said = "2 files, 1 changed, 0 removed, 0 invalid records, 1 read again unchanged"
            wait_for(lambda: said in daemon.text(), what=daemon.text)
            assert "updated document " + str(tmp_path / "corpus" / "b.txt") in daemon.text()
            assert daemon.text().count("updated document") == 1, daemon.text()
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
