"""`run` stopped (SIGTERM) right after a host answered `429 Retry-After: 30`:
the hold is kept in the database (`host_backoff`) as the daemon leaves, for
the next start and the other members of a cluster to honour.

The stop gives the check's claim back due now, its retry unsent (S8). The
hold was shared only by the heartbeat (every `cluster_heartbeat` seconds, 2 s
at the defaults): a stop before the next beat forgot it, and the next start
asked the host again at once, ~3 s after it had asked for 30 (R32; a cluster's
other member claimed the target at once and did the same). The heartbeat is
set to 30 s here so that no beat falls between the answer and the stop: the
stop's own leave must share it. In-process (`workers = 1`: the HostPool's
gates) and with checker processes (`workers = 2`: the holds they told the
daemon). The waits are bounds on a hang, never timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, article, query, wait_for, write_config
from stop_site import StopSite, stop_site

BOUND = 40  # seconds: a bound on a hang, never a timing
HOLD = 30  # park.test's Retry-After


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.1, retry_after=HOLD) as server:
        yield server


@pytest.mark.parametrize("workers", [1, 2])  # in-process, checker processes
def test_a_hold_learned_just_before_a_stop_is_kept_for_the_next_start(
    tmp_path: Path, site: StopSite, workers: int
) -> None:
    """One target, answered 429 Retry-After: 30; SIGTERM 0.5 s after: the
    daemon stops at once (its retry unsent, the claim due now) and
    `host_backoff` holds park.test until ~30 s after the answer (before: no
    row, the hold forgotten). ~4 s each: the daemon's start."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"park.test:80:127.0.0.1:{port}"],
        workers=workers,
        retries=1,
        retry_after_max=60.0,
        interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
        cluster_heartbeat=30.0,  # no beat between the answer and the stop
        cluster_timeout=100.0,
    )
    (tmp_path / "corpus" / "p.txt").write_text(article("http://park.test/0/"))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: site.started("park.test"), BOUND, what=daemon.text)
        answered = time.time()
        time.sleep(0.5)  # its 429 read: the retry waits out the hold
        code = daemon.stopped(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text and "could not" not in text, text
    assert site.started() == ["park.test/0/"], site.starts
    [(host, until)] = query(db, "SELECT host, until FROM host_backoff")
    assert host == "park.test", host
    # held to the hold's end (30 s after the answer), not forgotten at the stop
    assert until >= (answered + HOLD - 5) * 1000, (until, answered)
