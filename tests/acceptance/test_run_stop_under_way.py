"""`run` with checker processes (`workers = 2`) stopped (SIGTERM) while its
checks are on the wire: the checks under way finish within the grace and are
recorded, and no check starts after the signal.

At a stop the daemon guessed which checks a process ran (its oldest share of
`concurrency`) and cancelled the rest; it let the others run. A check waiting
at its host's gate (`per_host` below the process's share) was counted as
running: it started its request after the stop, once one on the wire had
ended. A check waiting out a hold aside (a 429 between its tries: requests.py
`park`) let the process run one more than its share, and the guess cancelled
one under way: its request on the wire, its connection closed before the
answer, its claim given back. Now the process answers every check it has not
started, and the daemon waits for the others.

The server records each request's start and whether its client was still
there when it answered (a cut connection shows as a hang-up before the
answer). The waits are bounds on a hang, never timings.
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

BOUND = 30  # seconds: a bound on a hang, never a timing
ANSWER_S = 1.5  # how long each answer of slow.test takes


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=ANSWER_S, retry_after=6) as server:
        yield server


def stop_and_check(site: StopSite, daemon: DaemonProcess, db: Path) -> list[str]:
    """SIGTERM now; the daemon exits 0, no request was cut, none started after
    the signal, each check answered is recorded once and no lease is left. The
    URLs started."""
    signalled = time.monotonic()
    daemon.signal(signal.SIGTERM)
    try:
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text, text
    with site.cond:
        after = [u for t, u in site.starts if t > signalled]
        starts = [u for _, u in site.starts]
        cut = list(site.cut)
        answered = list(site.answered)
    assert after == [], (after, starts)  # before: the checks waiting at the gate
    assert cut == [], (cut, starts)  # before: the check the guess took for queued
    recorded = query(
        db,
        "SELECT t.url, count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
        " GROUP BY t.url",
    )
    assert sorted(recorded) == sorted((f"http://{u}", 1) for u in answered), (recorded, starts)
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
    return starts


def test_checks_waiting_at_their_hosts_gate_do_not_start_after_a_stop(
    tmp_path: Path, site: StopSite
) -> None:
    """One process (its share: 4 checks) running 4 checks of one host whose
    `per_host` is 2: two on the wire, two waiting at the gate (the guess
    counted them running), the rest queued. ~5 s: the daemon's start, an
    answer's 1.5 s."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"slow.test:80:127.0.0.1:{port}"],
        concurrency=8,  # 4 a process
        per_host=2,
        workers=2,
        interval=3600.0,
        timeout=20.0,
        lease_seconds=120.0,
        shutdown_grace=10.0,
    )
    for i in range(12):
        (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://slow.test/{i}/"))
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: len(site.started("slow.test")) >= 2, BOUND, what=daemon.text)
    except BaseException:
        daemon.kill()
        raise
    starts = stop_and_check(site, daemon, tmp_path / "data" / "article-monitor.db")
    assert len(starts) == 2 and sorted(site.answered) == sorted(starts), starts


def test_a_check_under_way_beside_one_waiting_out_a_hold_is_not_cut_at_a_stop(
    tmp_path: Path, site: StopSite
) -> None:
    """One process whose share is 2 checks: park.test answers `429 Retry-After:
    6` to its first request, and the check waits out the hold aside for its
    retry (parked), so the process runs two of slow.test's beside it, three in
    all: the guess (its oldest two) took the newest one under way for queued
    and cut it. The parked check is still waiting at the grace's end (2.5 s),
    so it is given back, its retry never sent. ~6 s: the daemon's start, the
    rescan that finds slow.test's targets, the grace."""
    # the point: the parked check and slow.test's share a process
    assert host_owner("http://park.test/", 2, parent_weight=0.0) == host_owner(
        "http://slow.test/", 2, parent_weight=0.0
    )
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"park.test:80:127.0.0.1:{port}", f"slow.test:80:127.0.0.1:{port}"],
        concurrency=4,  # 2 a process
        per_host=2,
        workers=2,
        retries=1,
        retry_after_max=10.0,
        interval=3600.0,
        timeout=20.0,
        lease_seconds=120.0,
        shutdown_grace=2.5,
    )
    corpus = tmp_path / "corpus"
    (corpus / "0.txt").write_text(article("http://park.test/0/"))  # the oldest target
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: site.started("park.test"), BOUND, what=daemon.text)
        for i in range(6):  # found by the next rescan: claimed behind the held one
            (corpus / f"s{i}.txt").write_text(article(f"http://slow.test/{i}/"))
        wait_for(lambda: len(site.started("slow.test")) >= 2, BOUND, what=daemon.text)
    except BaseException:
        daemon.kill()
        raise
    starts = stop_and_check(site, daemon, tmp_path / "data" / "article-monitor.db")
    slow = [u for u in starts if u.startswith("slow.test")]
    assert len(slow) == 2 and sorted(site.answered) == sorted(slow), starts
    assert [u for u in starts if u.startswith("park.test")] == ["park.test/0/"], starts
