"""Two members on one PostgreSQL and one host whose queue outlasts a lease.

A member claims a host's due targets up to its free slots; with `per_host = 1`
they wait their turn at the host's gate, one request at a time. Ten targets
answered in 0.4 s each take 4 s, twice `lease_seconds` (2): the last ones'
leases ran out while they still waited in the member's queue, and they were
claimed and checked again, by the other member as the host's bucket moved to
it, or by the same one restarting its queued check: two results seconds apart,
and two requests at once to a host allowed one (a hostile review's find).
The claims still queued are now renewed by the heartbeat.

The verdicts are counts at the server: each URL asked once in the test's
window (its interval is an hour), never two requests at once to the host.
Before the renewal, 1-3 of the ten were asked twice and two requests were in
flight at once to the host, in every run. ~15 s: two members' starts (two
heartbeats each, a schema migrated), the host's 4 s queue and a lease after.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config
from sqlalchemy import text
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine

# slow: two daemon starts and a hold or a queue waited out (~12-17 s); `make test-slow`
# runs it in CI
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BOUND = 60  # seconds: a bound on a hang, never a timing
TARGETS = 10
PAUSE = 0.4  # the site's answer time: TARGETS of them outlast two leases


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url("lq")


def test_a_host_queue_longer_than_a_lease_is_checked_once_one_request_at_a_time(
    tmp_path: Path, pg_url: str
) -> None:
    with LinkServer(pause=PAUSE) as site:
        config = write_config(
            tmp_path,
            site.port,
            db=pg_url,
            connect_to=[f"q.test:80:127.0.0.1:{site.port}"],
            interval=3600.0,
            retry_interval=3600.0,
            timeout=1.0,
            lease_seconds=2.0,
            per_host=1,
            host_min_interval=0.0,
            concurrency=16,
            cluster_heartbeat=0.5,
            cluster_timeout=2.0,
        )
        for i in range(TARGETS):
            (tmp_path / "corpus" / f"a{i}.txt").write_text(article(f"http://q.test/a{i}"))
        engine = make_engine(pg_url)
        members = [DaemonProcess(config), DaemonProcess(config)]
        try:
            for m in members:
                m.wait_listening()

            def recorded() -> int:
                with engine.connect() as conn:
                    return int(conn.execute(text("SELECT count(*) FROM check_results")).scalar())

            wait_for(lambda: recorded() >= TARGETS, BOUND, what=members[0].text)
            # a lease past the last result: a claim that ran out meanwhile would be
            # asked again by now (one more queued check at most, PAUSE, after it)
            time.sleep(2.0 + 2 * PAUSE)
            for m in members:
                m.signal(signal.SIGTERM)
            codes = [m.wait(BOUND) for m in members]
        finally:
            for m in members:
                m.kill()
            engine.dispose()
        logs = "\n".join(m.text() for m in members)
        assert codes == [0, 0], logs
        with site.lock:
            asked = {u: len(t) for u, t in site.url_hits.items()}
        twice = {u: n for u, n in asked.items() if n != 1}
        most = site.max_in_flight["q.test"]
        # each asked once (before: one or two of the last asked twice, seconds
        # apart), one request at a time (before: two at once, now and then)
        assert (len(asked), twice, most) == (TARGETS, {}, 1), (twice, most, site.overlaps())
