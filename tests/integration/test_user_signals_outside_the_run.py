"""SIGUSR1 and SIGUSR2 sent to `run` while the daemon's own handlers are not in
place: during its start (a database check waiting for a lock here) and once its
stop has removed them.

docs/operations.md says both are ignored "with a warning" from `run`'s first
line; they were ignored (SIG_IGN) and nothing was said. Now they are counted
and each is logged once, with its count, when the daemon's handlers are in
place (those of the start) or when the daemon has ended (those of the stop).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from support.procs import has_open

BOUND = 60  # seconds: a bound on a hang, never a timing


def test_user_signals_during_the_start_are_logged_once_with_their_count(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "monitor", "run", str(corpus), "--once"]
    cmd += ["--data-dir", str(data), "--listen", "127.0.0.1:0", "--allow-network", "127.0.0.0/8"]
    env = {**os.environ, "ARTICLE_MONITOR_WORKERS": "2"}
    first = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr
    db = data / "article-monitor.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the daemon's start waits on its write
    try:
        # checker processes spawned at the start (prestart): a SIGUSR1 to the whole
        # group (`systemctl kill -s USR1`) must not end them either
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        for _ in range(BOUND * 100):  # bounded: until the daemon has the database open
            if has_open(proc.pid, db) or proc.poll() is not None:
                break
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGUSR1)
        time.sleep(0.05)  # not a bound: two SIGUSR1 pending at once are one
        proc.send_signal(signal.SIGUSR2)  # to the daemon alone: its checkers' word
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGUSR1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _, raw = proc.communicate(timeout=120)
    err = raw.decode()
    assert proc.returncode == 0, err
    assert "checking in 2 checker processes" in err, err
    # none of them ended (a checker process that ends is replaced, and said so)
    assert "Traceback" not in err and "ERROR" not in err and "ended" not in err, err
    usr1 = re.findall(r"SIGUSR1 ignored( x\d+)? during the start: logs go to stderr", err)
    assert len(usr1) == 1, err  # once, however many came
    usr2 = re.findall(r"SIGUSR2 ignored during the start: it is the daemon's word", err)
    assert len(usr2) == 1, err


# the daemon's Signals as `run` uses them: user signals after the stop removed them
AFTER_THE_STOP = textwrap.dedent(
    """
    import asyncio, logging, signal, sys
    from monitor.daemon import signals
    from monitor.daemon.hup import ignore_stray_stops

    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
    ignore_stray_stops()  # as `run`'s first line

    async def daemon():
        async def reload(): pass
        handlers = signals.Signals(reload, lambda coro, name: None)
        handlers.install(lambda: None, lambda: None)
        handlers.remove()  # the stop's end
        for _ in range(3):
            signal.raise_signal(signal.SIGUSR1)
        signal.raise_signal(signal.SIGUSR2)

    with signals.process_ends_with_daemon():
        asyncio.run(daemon())
    print("went on")
    """
)


def test_user_signals_after_the_stop_are_logged_once_at_the_end() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AFTER_THE_STOP], capture_output=True, text=True, timeout=BOUND
    )
    assert (done.returncode, done.stdout) == (0, "went on\n"), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("WARNING SIGUSR1 ignored x3 during the stop: logs go to stderr")
    assert lines[1].startswith("WARNING SIGUSR2 ignored during the stop: it is the daemon's word")
