"""A lone daemon (SQLite) that was idle claims a slow host's queue: its leases
are renewed while its first check is still under way.

`renew` renews nothing once no check came back for a whole lease (a member
whose checks all hang lets its claims run out). That lease was counted from
the last answer before an idle spell, or from none at all since the start:
a host's queue whose first check took most of a lease had nothing renewed
before that answer, and if no heartbeat fell between the answer and the
lease's end the next claims ran out while they waited at the host's gate.
The daemon claimed its own target again and asked it a second time beside
the first request, two at once to a host allowed one (per_host 1). The lease
is longer than a check can take (no lease warning); nothing was wrong but
the count's start, which is now the claim that ended the idle spell.

The verdicts are counts at the server: each URL asked once, never two
requests at once. Before the fix, a target was asked twice and two requests
were in flight at once in 7 of 7 runs. ~7 s: the start, three answers of
0.6 s, two leases' wait after them.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config

BOUND = 60  # seconds: a bound on a hang, never a timing
TARGETS = 3
PAUSE = 0.6  # each answer: most of the lease
LEASE = 0.75  # longer than a check can take (timeout 0.7 s, no retry): no warning


def test_a_slow_hosts_queue_claimed_after_idle_is_asked_once_at_a_time(tmp_path: Path) -> None:
    with LinkServer(pause=PAUSE) as site:
        config = write_config(
            tmp_path,
            site.port,
            connect_to=[f"q.test:80:127.0.0.1:{site.port}"],
            interval=3600.0,
            retry_interval=3600.0,
            timeout=0.7,
            lease_seconds=LEASE,
            per_host=1,
            host_min_interval=0.0,
            concurrency=16,
            cluster_heartbeat=0.25,
        )
        for i in range(TARGETS):
            (tmp_path / "corpus" / f"a{i}.txt").write_text(article(f"http://q.test/a{i}"))
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            wait_for(lambda: len(site.url_hits) >= TARGETS, BOUND, what=daemon.text)
            time.sleep(PAUSE + 2 * LEASE)  # a claim run out meanwhile is asked again by now
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
        text = daemon.text()
        assert code == 0, text
        assert "lease_seconds" not in text, text  # a setting the daemon finds sound
        with site.lock:
            asked = {u: len(t) for u, t in site.url_hits.items()}
        twice = {u: n for u, n in asked.items() if n != 1}
        most = site.max_in_flight["q.test"]
        # before: the second (or third) target asked twice, two requests at once
        assert (len(asked), twice, most) == (TARGETS, {}, 1), (twice, most, site.overlaps())
