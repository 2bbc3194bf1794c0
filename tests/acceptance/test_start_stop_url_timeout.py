"""A SQLite URL's `?timeout=` is the wait for a lock, up to an hour: a stop signal
during the start must not wait it out. The start's write check ran on the loop's
executor, which asyncio.run joins at exit: on a file another connection holds
locked, a SIGTERM waited for the whole ?timeout= (5 s before it was honoured)."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for, write_config


def test_a_stop_during_the_start_does_not_wait_out_the_urls_lock_timeout(tmp_path: Path) -> None:
    with LinkServer() as site:
        stopped_in_the_start(tmp_path, site)


def stopped_in_the_start(tmp_path: Path, link_server: LinkServer) -> None:
    db = tmp_path / "am.db"
    first = DaemonProcess(write_config(tmp_path, link_server.port, db=f"sqlite:///{db}"), "--once")
    assert first.wait(60) == 0, first.text()  # the schema is there: no migration waits
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # held for the whole test
    try:
        cfg = write_config(tmp_path, link_server.port, db=f"sqlite:///{db}?timeout=3600")
        daemon = DaemonProcess(cfg, "--log-level", "debug")  # says where it listens
        try:
            found = wait_for(lambda: re.search(r"at (http://127\.0\.0\.1:\d+)", daemon.text()))
            daemon.metrics_url = found.group(1)
            wait_for(lambda: "migrating" in daemon.get("/readyz")[1], 30, what=daemon.text)
            daemon.signal(signal.SIGTERM)
            try:
                code = daemon.wait(30)  # a hang's bound: the lock is held for an hour
            except subprocess.TimeoutExpired:
                pytest.fail(f"the stop waited for the lock:\n{daemon.text()}")
            assert code == 130, daemon.text()
            assert "Traceback" not in daemon.text()
        finally:
            daemon.kill()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
