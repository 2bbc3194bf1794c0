"""`run --once` stopped by SIGTERM or SIGINT before every due target was checked
(issue 16 hostile review): it went on waiting for a check in flight to end (a
whole `timeout`, retries included) before its `shutdown_grace` began, and then
exited 0, which says every due target was checked and recorded. It now stops
within the grace and exits 1 saying how it ended; the targets it left are given
back, due, for the next pass."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("workers", [1, 2])
def test_run_once_cut_short_stops_within_its_grace_and_says_so(
    tmp_path: Path, sig: signal.Signals, workers: int
) -> None:
    with LinkServer(hang=True) as site:
        # every request is held by the server until its client hangs up: no check
        # ends by itself before the (long) timeout
        cfg = write_config(
            tmp_path,
            site.hang_port,
            interval=3600.0,
            timeout=600.0,
            lease_seconds=900.0,
            shutdown_grace=0.5,
            workers=workers,
        )
        for i in range(4):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        daemon = DaemonProcess(cfg, "--once")
        db = tmp_path / "data" / "article-monitor.db"

        def under_way() -> bool:
            """A check held, and every document recorded: the scan is streamed, and a
            stop before its last document leaves it for the next start (it said
            "stopped midway" and 2 or 3 were due: 3 runs of 20 under load)."""
            return site.hung >= 1 and query(db, "select count(*) from targets") == [(4,)]

        try:
            wait_for(under_way, BOUND, what=daemon.text)
            daemon.signal(sig)
            code = daemon.wait(BOUND)  # before the fix: the 600 s timeout, then 0
        finally:
            daemon.kill()
    text = daemon.text()
    assert code == 1, text
    assert "stopped before every due target was checked" in text
    assert "Traceback" not in text
    assert query(db, "select count(*) from leases") == [(0,)]  # given back, due
    assert query(db, "select count(*) from due_queue") == [(4,)]
