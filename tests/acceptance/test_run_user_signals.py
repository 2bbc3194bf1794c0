"""SIGUSR2 (or SIGUSR1) sent to the daemon itself, or to its whole process group.

SIGUSR2 is the daemon's word to its checker processes (it stops). Sent by an
operator to the daemon (`kill -USR2`, as many daemons take it for "reopen the
logs"), or to the whole unit (`systemctl kill -s USR2`), its default action
ended the daemon at once, as SIGKILL does: no results flushed, its leases held
for `lease_seconds`. The daemon now ignores it, from its first line; its
checker processes hear it as a stray stop, are replaced, and their skipped
checks are tried again, so the pass still records every target. SIGUSR1
(many daemons' "reopen the logs") ended it the same way and is ignored too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from aiohttp import web
from daemon_harness import CLI, DaemonProcess, LinkServer, query, wait_for
from stop_harness import jsonl_corpus, started, stop_config
from support.procs import children
from test_run_early_hup import _gated

# soak: signal floods to a daemon and its group; `make test-slow` (CI runs it after `make test`)
pytestmark = pytest.mark.slow

# seconds: a bound on a hang, never a timing. Twice it (the start, then the pass)
# stays within pytest's timeout (120 s): at 120, pytest's timeout came first and
# killed the daemon, and a hang left neither its stacks nor its log
BOUND = 50
ARTICLES = 600


class HeldServer(LinkServer):
    """Answers its first `first` requests; the others wait for `go` (a hang's bound
    at most). The signal lands in the pass, checks under way and queued, however
    slow the test is to send it: sent once 100 had started, it came after the pass
    had ended when the test lagged (a loaded machine, a smaller corpus), and the
    daemon's log had no "ignored" line."""

    def __init__(self, first: int) -> None:
        super().__init__(pause=0.2)
        self.first = first
        self.go = threading.Event()
        self._answered = 0  # the server's loop only

    def __enter__(self) -> HeldServer:
        super().__enter__()
        return self

    async def _handle(self, request: web.Request) -> web.Response:
        self._answered += 1
        if self._answered > self.first:
            for _ in range(BOUND * 50):  # bounded: 20 ms looks, a hang's bound in all
                if self.go.is_set():
                    break
                await asyncio.sleep(0.02)
        return await super()._handle(request)


def _hung(tmp: Path, daemon: DaemonProcess) -> str:
    """A hang's evidence: what the database holds (checked targets, leases, due
    rows), then the log with the stacks of the daemon and its checker processes."""
    db = tmp / "data" / "article-monitor.db"
    checked = query(db, "select count(distinct target_id) from check_results")
    leases = query(db, "select count(*) from leases")
    due = query(db, "select count(*) from due_queue")
    daemon.dump_stacks()
    held = f"checked {checked}, leases {leases}, due_queue {due} of {ARTICLES}"
    return f"{held}; the daemon's log and stacks:\n{daemon.text()}"


def _all_checked(tmp: Path, text: str) -> None:
    db = tmp / "data" / "article-monitor.db"
    checked = query(db, "select count(distinct target_id) from check_results")
    assert checked == [(ARTICLES,)], text
    assert query(db, "select count(*) from leases") == [(0,)]


@pytest.mark.parametrize("sig", [signal.SIGUSR2, signal.SIGUSR1], ids=lambda s: s.name)
@pytest.mark.parametrize("to", ["daemon", "group"])
def test_a_user_signal_to_the_daemon_or_its_group_ends_nothing(
    tmp_path: Path, to: str, sig: signal.Signals
) -> None:
    with HeldServer(first=100) as site:
        cfg = stop_config(tmp_path, site, concurrency=32, per_host=8)
        jsonl_corpus(tmp_path, ARTICLES, hosts=16)
        daemon = DaemonProcess(cfg, "--once", group=to == "group")
        try:
            wait_for(lambda: started(site) >= 100, BOUND, what=lambda: _hung(tmp_path, daemon))
            if to == "group":
                daemon.signal_group(sig)
            else:
                daemon.signal(sig)
            code = _heard_then_ended(tmp_path, daemon, site, sig)
        finally:
            daemon.kill()
    text = daemon.text()
    assert code == 0, (code, text)
    assert "Traceback" not in text, text
    assert f"{sig.name} ignored" in text, text
    _all_checked(tmp_path, text)


def _heard_then_ended(
    tmp_path: Path, daemon: DaemonProcess, site: HeldServer, sig: signal.Signals
) -> int:
    """Once the daemon has logged the signal ignored (or ended, which the callers'
    asserts explain), the held answers go, and the pass's exit code."""
    heard = f"{sig.name} ignored"
    wait_for(
        lambda: heard in daemon.text() or daemon.proc.poll() is not None,
        BOUND,
        what=lambda: _hung(tmp_path, daemon),
    )
    site.go.set()  # the rest of the pass: checks that were held, and the queue
    try:
        return daemon.wait(BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run --once did not end: {_hung(tmp_path, daemon)}")


def test_a_sigusr1_to_the_group_spares_a_checker_process_started_in_a_dead_ones_place(
    tmp_path: Path,
) -> None:
    """A checker process started in a dead one's place is spawned after the daemon's
    SIGUSR1 handler is installed, and a handler does not survive exec: it got
    SIGUSR1's default action, where the first ones inherited "ignored". A
    `systemctl kill -s USR1` then ended it, and its checks on their second try
    were lost: exit 1. Its answers are held until the signal was heard."""
    with HeldServer(first=100) as site:
        cfg = stop_config(tmp_path, site, concurrency=32, per_host=8)
        jsonl_corpus(tmp_path, ARTICLES, hosts=16)
        daemon = DaemonProcess(cfg, "--once", group=True)
        try:
            wait_for(lambda: started(site) >= 100, BOUND, what=lambda: _hung(tmp_path, daemon))
            first = children(daemon.proc.pid)  # its checker processes
            os.kill(min(first), signal.SIGKILL)  # its checks are held at the server
            wait_for(
                lambda: children(daemon.proc.pid) - first,
                BOUND,
                what=lambda: _hung(tmp_path, daemon),
            )
            daemon.signal_group(signal.SIGUSR1)
            code = _heard_then_ended(tmp_path, daemon, site, signal.SIGUSR1)
        finally:
            daemon.kill()
    text = daemon.text()
    assert code == 0, (code, text)
    assert "exit status -10" not in text, text
    _all_checked(tmp_path, text)


def test_a_sigusr2_while_run_still_imports_ends_nothing(tmp_path: Path) -> None:
    """Sent while `run` imports its command line (held at its import of click)."""
    with LinkServer() as site:
        cfg = stop_config(tmp_path, site, concurrency=32, per_host=8)
        jsonl_corpus(tmp_path, ARTICLES, hosts=16)
        log = tmp_path / "daemon.log"
        with log.open("wb") as fh:
            proc = _gated(
                tmp_path,
                [CLI, "run", "--config", str(cfg), "--once"],
                sig=signal.SIGUSR2,
                stdout=subprocess.DEVNULL,
                stderr=fh,
            )
            try:
                code = proc.wait(BOUND)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
    text = log.read_text()
    assert code == 0, (code, text)
    assert "Traceback" not in text, text
    _all_checked(tmp_path, text)
