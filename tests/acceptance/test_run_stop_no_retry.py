"""`run` stopped (SIGTERM) while a check under way waits for its retry: the
retry is not sent, the check records nothing, and its claim is given back due
at the host's hold's end, as a check not started is; the stop does not wait
out the wait.

park.test answers its first request `429 Retry-After: 4` (`retries = 1`): the
check's retry waits out the hold at the host's gate. Before, the wait held the
stop, and the retry was sent after the signal once the hold was over, to a
host that had asked us to wait, and its answer recorded (a hold beyond
`shutdown_grace` took the whole grace, "did not finish in time").
In-process (`workers = 1`) and with checker processes (`workers = 2`): their
paths differ (dispatch.py `_check_surviving`, requests.py and the parent's
CheckerStopped). The server records each request's start; the waits are
bounds on a hang, never timings.
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
HOLD = 4  # park.test's Retry-After, within the grace: before, the retry was sent


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.1, retry_after=HOLD) as server:
        yield server


@pytest.mark.parametrize("workers", [1, 2])  # in-process, checker processes
def test_a_check_waiting_for_its_retry_is_given_back_at_a_stop(
    tmp_path: Path, site: StopSite, workers: int
) -> None:
    """One target, answered 429 Retry-After: 4 at its first try. SIGTERM once
    that answer came: no second request, no result row, no lease left, the
    target due at the hold's end; exit 0 (before: the retry was sent
    ~3.5 s after the signal and its answer recorded). ~4 s each: the daemon's
    start."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"park.test:80:127.0.0.1:{port}"],
        workers=workers,
        retries=1,
        retry_after_max=float(HOLD),
        interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
    )
    (tmp_path / "corpus" / "p.txt").write_text(article("http://park.test/0/"))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: site.started("park.test"), BOUND, what=daemon.text)
        asked = time.time()  # its 429's moment, near enough (the site is local)
        time.sleep(0.5)  # its 429 read: the retry waits out the hold at the gate
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text and "unexpectedly" not in text, text
    assert "did not finish in time" not in text, text  # before: the whole grace
    assert site.started() == ["park.test/0/"] and site.after(signalled) == [], site.starts
    assert query(db, "SELECT count(*) FROM check_results") == [(0,)], text
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
    # given back due at the hold's end (~3.5 s after the signal), not due now: a
    # member that took the host over asked it before the hold ended
    [(due,)] = query(db, "SELECT due FROM due_queue")
    assert asked * 1000 + (HOLD - 1) * 1000 <= due <= asked * 1000 + (HOLD + 1) * 1000, (
        due / 1000 - asked
    )
    assert query(db, "SELECT state, last_checked_at FROM targets") == [("unknown", None)]
