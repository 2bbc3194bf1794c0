"""A stop while a checker process is being replaced (hostile review of the stop
path): a process killed (SIGKILL, the OOM killer) has its checks tried again,
held for the process started in its place a second later. A SIGTERM in that
second made the stop raise ValueError (exit 70, a traceback, every lease left
held), and once that was mended the held retries still went to the replacement
after the stop (60 requests after SIGTERM at concurrency 16). Now nothing is sent
after the stop, every claim is given back, and the next pass checks exactly
what was left.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, query, wait_for
from stop_harness import jsonl_corpus, started, stop_config
from support.procs import children

BOUND = 90  # seconds: a bound on a hang, never a timing
CONCURRENCY = 16
ARTICLES = 1500


def _config(tmp: Path, site: LinkServer) -> Path:
    """ARTICLES articles on 8 hosts, 4 at a time per host: the checkers' queues fill."""
    jsonl_corpus(tmp, ARTICLES, hosts=8)
    return stop_config(tmp, site, concurrency=CONCURRENCY, per_host=4)


@contextmanager
def _busy(cfg: Path, site: LinkServer, *args: str) -> Iterator[tuple[DaemonProcess, set[int]]]:
    """The daemon once its two checker processes have started 100 requests between
    them, and their pids; killed on the way out if it is still running."""
    daemon = DaemonProcess(cfg, *args)
    try:
        wait_for(lambda: started(site) >= 100, BOUND, what=daemon.text)
        workers = children(daemon.proc.pid)
        assert len(workers) == 2, workers
        yield daemon, workers
    finally:
        daemon.kill()


def test_a_stop_just_after_a_checker_process_died_sends_nothing_and_gives_all_back(
    tmp_path: Path,
) -> None:
    with LinkServer(pause=0.3) as site:
        cfg = _config(tmp_path, site)
        with _busy(cfg, site, "--once") as (daemon, workers):
            os.kill(min(workers), signal.SIGKILL)
            # its replacement starts a second after the death is seen: the stop
            # comes in that second (its checks' retries held for the replacement)
            wait_for(lambda: "ended (exit status -9)" in daemon.text(), BOUND, what=daemon.text)
            at_stop = started(site)
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(BOUND)
        after = started(site) - at_stop
        text = daemon.text()
        assert code == 1, text  # stopped before every due target was checked
        assert "Traceback" not in text and "failed unexpectedly" not in text, text
        assert after <= CONCURRENCY, f"{after} requests started after SIGTERM"
        db = tmp_path / "data" / "article-monitor.db"
        assert query(db, "select count(*) from leases") == [(0,)]  # every claim given back

        site.pause = 0.0
        again = DaemonProcess(cfg, "--once")
        try:
            assert again.wait(BOUND) == 0, again.text()
        finally:
            again.kill()
    # each target checked and recorded once over the two passes: nothing recorded
    # twice, nothing left
    assert query(db, "select count(*), count(distinct target_id) from check_results") == [
        (ARTICLES, ARTICLES)
    ]
    assert query(db, "select count(*) from leases") == [(0,)]


@pytest.mark.parametrize(
    ("sig", "once"), [(signal.SIGINT, False), (signal.SIGTERM, True)], ids=["run-int", "once-term"]
)
def test_a_stop_signal_to_one_checker_process_alone_stops_the_daemon(
    tmp_path: Path, sig: signal.Signals, once: bool
) -> None:
    """`kill <checker pid>`: the process passes the signal on to the daemon, which
    owns the run and stops as if signalled itself (run: exit 0; --once cut short:
    1); the process starts none of its queued requests meanwhile, the daemon
    gives their targets back, and nothing is said to have failed."""
    with LinkServer(pause=0.3) as site:
        cfg = _config(tmp_path, site)
        with _busy(cfg, site, *(["--once"] if once else [])) as (daemon, workers):
            at_stop = started(site)
            os.kill(min(workers), sig)
            code = daemon.wait(BOUND)
        after = started(site) - at_stop
    text = daemon.text()
    assert code == (1 if once else 0), text
    assert "Traceback" not in text and "failed unexpectedly" not in text, text
    assert "ended (exit status" not in text, text  # no process died: it was stopped
    assert after <= CONCURRENCY, f"{after} requests started after the signal"
    db = tmp_path / "data" / "article-monitor.db"
    assert query(db, "select count(*) from leases") == [(0,)]
