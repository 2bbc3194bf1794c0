"""A cluster member stopped (SIGTERM) right after a host answered `429
Retry-After: 30`, while another transaction holds that host's `host_backoff`
row: the leave waits for the row (bounded) and shares the hold.

Every member writes every hold it knows at every beat, skipping a row another
transaction holds (SKIP LOCKED: a later beat writes it). The leave has no later
beat: it skipped the row silently, the daemon said "stopped", exit 0, and the
hold was lost: the member that took the host over (or the next start) asked it
again at once, ~1 s after it had asked for 30 (R36). Here the test's own
transaction stands in for another member's beat writing the row; it lets go
once the leave is seen waiting for it (pg_stat_activity), or once the daemon
has ended without waiting (the defect). With `cut`, the waiting leave's
connection is ended then (pg_terminate_backend: a server restart, a proxy's
cut): the hold is shared once more on a new connection, as the leave's own
statement is (before: lost, a warning). Every wait is a bound on a hang.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, article, wait_for, write_config
from sqlalchemy import text
from stop_site import StopSite, stop_site
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine

pytestmark = pytest.mark.postgres

BOUND = 40  # seconds: a bound on a hang, never a timing
HOLD = 30  # park.test's Retry-After


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.1, retry_after=HOLD) as server:
        yield server


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url("lh")


@pytest.mark.parametrize("cut", [False, True])
def test_the_leave_waits_for_a_held_backoff_row_and_shares_the_hold(
    tmp_path: Path, site: StopSite, pg_url: str, cut: bool
) -> None:
    """park.test answers 429 Retry-After: 30; its row is written (until 0, an
    earlier hold over) and held by the test's transaction; SIGTERM. The leave
    waits for the row, and once the test commits it holds park.test ~30 s
    past the answer (before: 0, the hold lost), the daemon exits 0 with nothing
    said of it. ~5 s each: the member's start (two heartbeats) and its stop."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        db=pg_url,
        connect_to=[f"park.test:80:127.0.0.1:{port}"],
        retries=1,
        retry_after_max=60.0,
        interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
        cluster_heartbeat=1.0,
        cluster_timeout=10.0,
    )
    (tmp_path / "corpus" / "p.txt").write_text(article("http://park.test/0/"))
    engine = make_engine(pg_url)
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        wait_for(lambda: site.started("park.test"), BOUND, what=daemon.text)
        answered = time.time()
        time.sleep(0.5)  # its 429 read: the retry waits out the hold
        with engine.connect() as conn:
            conn.execute(
                text(
                    "INSERT INTO host_backoff (host, until) VALUES ('park.test', 0) "
                    "ON CONFLICT (host) DO UPDATE SET until = 0"
                )
            )  # the row is this transaction's until it commits
            daemon.signal(signal.SIGTERM)

            def waited_for_or_ended() -> bool:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND pid <> pg_backend_pid() AND datname = current_database()"
                    )
                ).scalar()
                return bool(waiting) or daemon.proc.poll() is not None

            wait_for(waited_for_or_ended, BOUND, what=daemon.text)
            if cut:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
                        "AND datname = current_database()"
                    )
                )
            conn.commit()
        code = daemon.wait(BOUND)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT host, until FROM host_backoff")).all()
    finally:
        daemon.kill()
        engine.dispose()
    text_ = daemon.text()
    assert code == 0, text_
    assert "Traceback" not in text_ and "could not" not in text_, text_
    assert site.started() == ["park.test/0/"], site.starts
    [(host, until)] = rows
    assert host == "park.test", host
    # held to the hold's end (30 s after the answer), not lost at the leave
    assert until >= (answered + HOLD - 5) * 1000, (until, answered, text_)
