"""`run` stopped (SIGTERM) while the soft-404 probe of a directory waits at its
host's gate, another page of that directory waiting for its answer: neither
page is recorded, both claims are given back due now.

soft.test serves one page for every path (a soft-404 host), one request every
2 s (`host_min_interval`): /d/a is answered, its probe waits for the gate
behind /d/b's request; /d/b is answered and waits for the probe /d/a asked.
The stop lets the probe go unsent (HostHeld), and /d/a's claim is given back.
Before, /d/b was told "no answer" (a probe cut short answered None to those
waiting) and recorded `ok` without its `soft_404`: a verdict it did not reach,
stored because the daemon stopped (R32). In-process only: the fix is the
engine's (probe.py), which both checkers run, and a check given back from a
checker process is S8's test_run_stop_no_retry. The waits are bounds on a
hang, never timings.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, article, query, wait_for, write_config
from stop_site import StopSite, stop_site

BOUND = 40  # seconds: a bound on a hang, never a timing
GAP = 2.0  # host_min_interval: /d/b's answer comes, the probe still waits at the gate


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.1) as server:
        yield server


def test_a_page_waiting_for_a_probe_stopped_unsent_is_given_back(
    tmp_path: Path, site: StopSite
) -> None:
    """SIGTERM once /d/b's request began (its answer comes 0.1 s later), before
    the probe's turn at the gate: no probe sent, no result row (before: /d/b
    recorded `ok` with no problem, its soft-404 unjudged), no lease left, both
    due now; exit 0. ~5-7 s: the daemon's start and the host's 2 s gap."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"soft.test:80:127.0.0.1:{port}"],
        workers=1,
        interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
        soft_404_probe=True,
        host_min_interval=GAP,
        per_host=1,
    )
    for name in ("a", "b"):
        (tmp_path / "corpus" / f"{name}.txt").write_text(article(f"http://soft.test/d/{name}"))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: len(site.started("soft.test")) >= 2, BOUND, what=daemon.text)
        time.sleep(0.6)  # /d/b answered (0.1 s) and waiting for the probe, due at 2 s
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    ended = time.time()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text and "unexpectedly" not in text, text
    assert sorted(site.started()) == ["soft.test/d/a", "soft.test/d/b"], site.starts
    assert site.after(signalled) == [], site.starts
    assert query(db, "SELECT outcome, problems FROM check_results") == [], text
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
    dues = query(db, "SELECT due FROM due_queue")
    assert len(dues) == 2 and all(due <= ended * 1000 for (due,) in dues), (dues, ended)
