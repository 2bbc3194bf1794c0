"""`run` stopped during its start while the database check waits (a lock held
by another process here), with more SIGTERMs as it exits (a supervisor that
insists, `kill` in a loop): it said "interrupted (SIGTERM) during `run`" and
then died by SIGTERM, status 143, where the contract says 130. The check runs
in a thread the stop does not wait for (daemon/unjoined.py), started with the
stop signals open: the main thread held them for the exit, that thread took
them, at their default action once the interpreter's shutdown put it back.
Such threads start with the process's signals blocked; the main thread hears
them."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.procs import has_open

BOUND = 60  # seconds: a bound on a hang, never a timing


def test_sigterms_in_the_exit_of_a_start_cut_short_keep_its_status_130(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "monitor", "run", str(corpus), "--data-dir", str(data)]
    cmd += ["--listen", "127.0.0.1:0", "--allow-network", "127.0.0.0/8"]
    made = subprocess.run([*cmd, "--once"], capture_output=True, timeout=120)
    assert made.returncode == 0, made.stderr
    db = data / "article-monitor.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the start's database check waits on it
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(BOUND * 100):  # bounded: until the database check has begun
            if has_open(proc.pid, db) or proc.poll() is not None:
                break
            time.sleep(0.01)
        for _ in range(BOUND * 100):  # bounded: SIGTERM until the process is gone
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.01)
        _, raw = proc.communicate(timeout=BOUND)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = raw.decode()
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.count("interrupted (SIGTERM) during `run`") == 1, err
    assert "Traceback" not in err, err
