"""`run` with checker processes (`workers = 2`) stopped (SIGTERM) while a check
waits at its host's gate with nothing sent: it is answered as not started at
once, and the stop waits only for the check under way.

A check waiting out its host's `host_min_interval` (or a backoff within
HOLD_SLACK) with the host's slot taken slept at the gate, and the stop did not
wake it: it held the stop until its sleep ended, up to the interval, and with
an interval beyond `shutdown_grace` the stop took the whole grace and gave its
claim back only then, as a check that "did not finish in time" (R28:
`host_min_interval = 30`, the request under way answered in 0.3 s, the stop
took the 8 s grace). And a check past its host's gate waiting for one of
its process's request slots (a check waiting out a hold aside lets a process
run more checks than it has slots), nothing sent, was taken for one under
way: it started its request after the stop once a slot was free.

The server records each request's start; the waits are bounds on a hang,
never timings.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, article, query, wait_for, write_config
from stop_site import StopSite, stop_site

from monitor.check.host_share import host_owner

BOUND = 40  # seconds: a bound on a hang, never a timing


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.3) as server:
        yield server


@pytest.fixture
def held_site() -> Iterator[StopSite]:
    """park.test answers `429 Retry-After: 2` to its first request; every other
    request is held until the test releases its URL (or all of them)."""
    with stop_site(pause=None, retry_after=2) as server:
        yield server


def test_a_check_waiting_out_its_hosts_interval_is_answered_at_once_at_a_stop(
    tmp_path: Path, site: StopSite
) -> None:
    """One host, `per_host = 1`, 30 s between its requests: the first check's
    request is sent, the next waits out the interval at the gate, its slot
    taken. SIGTERM once the first was answered: the waiting one is answered as
    not started, so nothing is left for the grace (before: the stop took the
    whole 8 s grace and warned that a check "did not finish in time"). ~5 s:
    the daemon's start and its first check."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"slow.test:80:127.0.0.1:{port}"],
        concurrency=8,
        per_host=1,
        host_min_interval=30.0,
        workers=2,
        interval=3600.0,
        timeout=20.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
    )
    for i in range(4):
        (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://slow.test/{i}/"))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        # the first check recorded: the next one waits out the interval at the gate
        wait_for(lambda: query(db, "SELECT count(*) FROM check_results") == [(1,)], BOUND)
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text, text
    assert "did not finish in time" not in text, text  # before: held for the whole grace
    assert len(site.started()) == 1 and site.after(signalled) == [], site.starts
    assert query(db, "SELECT count(*) FROM check_results") == [(1,)]
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]


def test_a_first_request_waiting_for_a_request_slot_does_not_start_after_a_stop(
    tmp_path: Path, held_site: StopSite
) -> None:
    """One process with 2 request slots (concurrency 4 over 2 processes). park.test's
    check is answered 429 and waits out the 2 s hold aside (parked), so the
    process runs 2 of slow.test's checks beside it, holding both slots. The
    hold over, its retry waits for a slot; slow.test/0/ is answered and its
    slot goes to the retry, and the loop takes slow.test/2/, which passes its
    host's gate (per_host 4) and waits for a slot, nothing sent. At SIGTERM it
    is answered as not started (before: it started its request once the
    retry's ended, after the stop). ~10 s: the daemon's start, its first
    rescan, the 2 s hold."""
    assert host_owner("http://park.test/", 2, parent_weight=0.0) == host_owner(
        "http://slow.test/", 2, parent_weight=0.0
    )
    site = held_site
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"park.test:80:127.0.0.1:{port}", f"slow.test:80:127.0.0.1:{port}"],
        concurrency=4,  # 2 a process
        per_host=4,
        workers=2,
        retries=1,
        retry_after_max=10.0,
        interval=3600.0,
        timeout=30.0,
        lease_seconds=120.0,
        shutdown_grace=10.0,
    )
    corpus = tmp_path / "corpus"
    (corpus / "p.txt").write_text(article("http://park.test/0/"))

    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: site.started("park.test"), BOUND, what=daemon.text)
        refused = time.monotonic()
        for i in range(6):  # found by the next rescan, beside the parked check
            (corpus / f"s{i}.txt").write_text(article(f"http://slow.test/{i}/"))
        wait_for(lambda: len(site.started("slow.test")) >= 2, BOUND, what=daemon.text)
        time.sleep(max(0.0, refused + 2.5 - time.monotonic()))  # the hold is over
        assert len(site.started("park.test")) == 1  # its retry waits for a slot
        first = site.started("slow.test")[0]
        site.release(first)
        wait_for(lambda: len(site.started("park.test")) == 2, BOUND, what=daemon.text)
        time.sleep(0.5)  # the freed loop takes the next check: it waits for a slot
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        time.sleep(0.2)
        site.release()
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text, text
    with site.cond:
        after = [u for t, u in site.starts if t > signalled]
        starts = [u for _, u in site.starts]
        answered = list(site.answered)
    assert after == [], (after, starts)  # before: slow.test/2/ once a slot was free
    assert len(starts) == 4, starts  # park.test twice, slow.test's first two
    recorded = query(
        db,
        "SELECT t.url, count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
        " GROUP BY t.url",
    )
    assert sorted(recorded) == sorted((f"http://{u}", 1) for u in answered), (recorded, starts)
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]


def test_the_in_process_daemons_checks_waiting_at_their_hosts_gate_do_not_start_after_a_stop(
    tmp_path: Path, held_site: StopSite
) -> None:
    """The in-process checker (`workers = 1`): 6 checks of one host whose
    `per_host` is 2, two on the wire, four waiting at the gate with nothing
    sent. At SIGTERM those four leave, their claims given back at once (before:
    each started its request after the stop as a slot freed, and the stop took
    the whole grace, warning that they "did not finish in time"). ~4 s: the
    daemon's start."""
    site = held_site
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"slow.test:80:127.0.0.1:{port}"],
        concurrency=8,
        per_host=2,
        workers=1,  # in-process
        interval=3600.0,
        timeout=30.0,
        lease_seconds=120.0,
        shutdown_grace=10.0,
    )
    for i in range(6):
        (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://slow.test/{i}/"))
    db = tmp_path / "data" / "article-monitor.db"

    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: len(site.started()) >= 2, BOUND, what=daemon.text)
        wait_for(lambda: query(db, "SELECT count(*) FROM leases") == [(6,)], BOUND)
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        time.sleep(0.2)
        site.release()
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text and "unexpectedly" not in text, text
    assert "did not finish in time" not in text, text
    assert "checking in" not in text, text  # in-process: no checker processes
    with site.cond:
        after = [u for t, u in site.starts if t > signalled]
        starts = [u for _, u in site.starts]
        answered = list(site.answered)
    assert after == [] and len(starts) == 2, (after, starts)
    recorded = query(
        db,
        "SELECT t.url, count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
        " GROUP BY t.url",
    )
    assert sorted(recorded) == sorted((f"http://{u}", 1) for u in answered), (recorded, starts)
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
