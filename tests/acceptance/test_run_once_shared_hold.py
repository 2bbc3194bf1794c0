"""`run --once` with checker processes honours a host's hold learned by an
earlier pass (or another member of a cluster): its pass checks the host's
targets at the hold's end, not at once.

A pass ending right after a host answered `429 Retry-After` shares the hold
as it leaves (`host_backoff`); the next pass's join imposes it. In-process
its checks wait at the host's gate, which the join told; a checker process's
gates are never told (only the dispatcher's `held_back` reads such holds,
and not in `run --once`), so the next pass asked the host at once, ~2 s after
it had asked for 4 (R32). The waits are bounds on a hang; the one timed
assertion is a lower bound (no request before the hold's end), which a slow
machine cannot fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import CLI, article, query, user_env, write_config
from stop_site import StopSite, stop_site

BOUND = 60  # seconds: a bound on a hang, never a timing
HOLD = 4  # park.test's Retry-After


@pytest.fixture
def site() -> Iterator[StopSite]:
    with stop_site(pause=0.0, retry_after=HOLD) as server:
        yield server


def test_the_next_pass_waits_out_a_hold_the_last_one_learned(
    tmp_path: Path, site: StopSite
) -> None:
    """Two passes with `workers = 2`: the first gets 429 Retry-After: 4 and
    records it; the second asks again only once the hold is over (before: at
    once, ~2 s after the first answer). ~7 s: two passes, and the hold."""
    port = site.port
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"park.test:80:127.0.0.1:{port}"],
        workers=2,
        retries=0,
        retry_after_max=60.0,
        interval=0.2,
        retry_interval=0.2,
        timeout=5.0,
        lease_seconds=120.0,
    )
    (tmp_path / "corpus" / "p.txt").write_text(article("http://park.test/0/"))
    db = tmp_path / "data" / "article-monitor.db"
    for _ in range(2):
        done = subprocess.run(
            [CLI, "run", "--once", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=BOUND,
            env=user_env(),
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
    with site.cond:
        starts = [t for t, _ in site.starts]
    assert site.started() == ["park.test/0/", "park.test/0/"], site.starts
    assert starts[1] - starts[0] >= HOLD - 0.5, starts  # before: ~2 s
    assert query(db, "SELECT http_status FROM check_results ORDER BY checked_at") == [
        (429,),
        (200,),
    ]
