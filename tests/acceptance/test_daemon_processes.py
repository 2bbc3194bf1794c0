"""The daemon with checker processes (`workers`, issue 16): results recorded as in one
process, a SIGHUP reloads without killing the checkers, a stop leaves none behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from daemon_harness import (
    CLI,
    DaemonProcess,
    LinkServer,
    article,
    query,
    wait_for,
    write_config,
)
from support.procs import children


def db_of(tmp: Path) -> Path:
    return tmp / "data" / "article-monitor.db"


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def test_run_once_with_checker_processes_records_every_check(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0, workers=2)
        for i in range(6):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        out = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert site.hits == 6
    assert "checking in 2 checker processes" in out.stderr
    db = db_of(tmp_path)
    assert results(db) == 6
    assert query(db, "select count(*) from targets where state = 'up'") == [(6,)]
    assert query(db, "select count(*) from leases") == [(0,)]


def test_checker_processes_survive_a_reload_and_end_with_the_daemon(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, workers=2)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            db = db_of(tmp_path)
            wait_for(lambda: results(db) >= 2, what=daemon.text)
            workers = children(daemon.proc.pid)
            assert len(workers) == 2, daemon.text()
            daemon.signal(signal.SIGHUP)
            for pid in workers:  # as a hangup of the whole process group would
                os.kill(pid, signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            before = results(db)
            wait_for(lambda: results(db) >= before + 3, what=daemon.text)
            assert children(daemon.proc.pid) == workers  # the same checkers, none restarted
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(20) == 0
        finally:
            daemon.kill()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert not re.search(r"checker process ended|Traceback", daemon.text()), daemon.text()
