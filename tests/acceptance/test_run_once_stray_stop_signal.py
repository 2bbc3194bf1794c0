"""A stray SIGUSR2 to one checker process during `run --once` (hostile review).

SIGUSR2 is the daemon's word to its checker processes that it stops: told, a
process skips every queued request. Sent by someone else to one process alone,
the daemon ran on, took the skipped checks for a stop's and gave their targets
back untried, and the pass ended with exit 0 and hundreds of due targets never
checked (840 of 2,000). The skipped checks now wait for the process put in the
stray one's place, and the pass records every target. 1,000 targets: hundreds
are still queued when the signal comes (300 started), in half the time.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, query, wait_for
from stop_harness import jsonl_corpus, started, stop_config
from support.procs import children

# slow: a pass of 1,000 targets through two checker processes (~13 s, the second
# longest of `make test`, at its 10 minutes); `make test-slow` runs it in CI
pytestmark = pytest.mark.slow

BOUND = 120  # seconds: a bound on a hang, never a timing
ARTICLES = 1000


def test_a_stray_stop_signal_to_one_checker_process_leaves_nothing_unchecked(
    tmp_path: Path,
) -> None:
    with LinkServer(pause=0.3) as site:
        cfg = stop_config(tmp_path, site, concurrency=64, per_host=16)
        jsonl_corpus(tmp_path, ARTICLES, hosts=32)
        daemon = DaemonProcess(cfg, "--once")
        try:
            wait_for(lambda: started(site) >= 300, BOUND, what=daemon.text)
            workers = sorted(children(daemon.proc.pid))
            assert len(workers) == 2, workers
            os.kill(workers[0], signal.SIGUSR2)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
    text = daemon.text()
    assert "Traceback" not in text and "failed unexpectedly" not in text, text
    assert "stray stop signal" in text, text  # the process was replaced, and said so
    assert code == 0, text
    db = tmp_path / "data" / "article-monitor.db"
    checked = query(db, "select count(distinct target_id) from check_results")
    assert checked == [(ARTICLES,)], text  # every target checked: none left for a lease
    assert query(db, "select count(*) from leases") == [(0,)]
