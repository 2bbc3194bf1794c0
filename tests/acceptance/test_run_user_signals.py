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

import signal
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, query, wait_for
from stop_harness import jsonl_corpus, started, stop_config
from test_run_early_hup import _gated

BOUND = 120  # seconds: a bound on a hang, never a timing
ARTICLES = 600


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
    with LinkServer(pause=0.2) as site:
        cfg = stop_config(tmp_path, site, concurrency=32, per_host=8)
        jsonl_corpus(tmp_path, ARTICLES, hosts=16)
        daemon = DaemonProcess(cfg, "--once", group=to == "group")
        try:
            wait_for(lambda: started(site) >= 100, BOUND, what=daemon.text)
            if to == "group":
                daemon.signal_group(sig)
            else:
                daemon.signal(sig)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
    text = daemon.text()
    assert code == 0, (code, text)
    assert "Traceback" not in text, text
    assert f"{sig.name} ignored" in text, text
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
