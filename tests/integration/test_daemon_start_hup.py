"""A SIGHUP (reload) that reaches `run` before the daemon's handler is installed:
while it imports, checks or migrates the database (held up here by another
process's write lock), SIGHUP's default action ended the daemon silently
(killed by signal 1, checker processes let go), so a `systemctl reload` or a
logrotate hook right after a start stopped the service."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.procs import has_open


def test_a_sighup_while_the_database_is_checked_is_a_reload_not_a_death(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "monitor", "run", str(corpus), "--once"]
    cmd += ["--data-dir", str(data), "--listen", "127.0.0.1:0"]
    env = {**os.environ, "ARTICLE_MONITOR_WORKERS": "2"}
    first = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr
    db = data / "article-monitor.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the daemon's start waits on its write
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2000):  # bounded: until the daemon has the database open
            if has_open(proc.pid, db) or proc.poll() is not None:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGHUP)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
