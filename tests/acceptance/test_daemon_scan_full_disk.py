"""A disk that fills during the daemon's first corpus scan: the scan failed and
was tried again only at the next `rescan_interval` (an hour here), so the daemon
checked nothing of the unrecorded corpus meanwhile, even once space was freed.
It is now retried after 1 s, doubling up to the interval, logged once."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from daemon_harness import CLI, DaemonProcess, LinkServer, article, query, wait_for, write_config
from support.fsfaults import fill
from test_daemon_faults import small_fs

__all__ = ["small_fs"]  # the fixture, shared with the other full-disk test

ARTICLES = 300


def test_a_scan_failed_by_a_full_disk_is_retried_soon(tmp_path: Path, small_fs: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(
            tmp_path, site.port, data_dir=str(small_fs), rescan_interval=3600.0, log_level="debug"
        )
        db = small_fs / "article-monitor.db"
        made = subprocess.run(  # the database, created and migrated on an empty corpus
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, timeout=120
        )
        assert made.returncode == 0, made.stderr
        for i in range(ARTICLES):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        filler = fill(small_fs)
        # room to open the database and begin the scan, not to record the corpus
        os.truncate(filler, os.stat(filler).st_size - 192 * 1024)
        daemon = DaemonProcess(cfg)
        try:
            wait_for(
                lambda: daemon.text().count("corpus rescan retried in") >= 2,
                60,
                what=daemon.text,
            )
            assert daemon.proc.poll() is None
            filler.unlink()
            wait_for(
                lambda: query(db, "select count(*) from articles") == [(ARTICLES,)],
                60,
                what=daemon.text,
            )
            checked = "select count(distinct target_id) from check_results"
            wait_for(lambda: query(db, checked) == [(ARTICLES,)], 60, what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(30) == 0, daemon.text()
        finally:
            daemon.kill()
    text = daemon.text()
    assert text.count("corpus rescan cannot write to the database") == 1, text
    assert "the corpus is recorded again" in text
    assert "Traceback" not in text
