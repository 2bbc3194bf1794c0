"""`run --once`'s leases run from the moment of each claim, not from its cutoff.

The pass claims everything due at one cutoff, and each claim took its lease
from that cutoff too: a pass longer than `lease_seconds` wrote leases that
had already run out, and on a cluster other members took those targets
again (two requests to a host, this member's results refused). Found by the
second hostile review.
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.dispatching import dispatcher
from support.settings import settings
from test_dispatch_run_once import Checks, Queue


class Recorded(Queue):
    """Claims of at most 2; each one's (now, lease_ms) and the clock at that moment."""

    def __init__(self, n: int, clock: list[int]) -> None:
        super().__init__(n)
        self.clock = clock
        self.calls: list[tuple[int, int, int]] = []

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> Any:
        self.calls.append((now, lease_ms, self.clock[0]))
        self.clock[0] += 60_000  # a minute passes between claims
        return super().claim_due(now, min(limit, 2), lease_ms, buckets)


async def test_each_claim_of_a_pass_leases_from_its_own_moment() -> None:
    clock = [1_000_000]
    queue = Recorded(6, clock)
    s = settings(concurrency=2, once=True, lease_seconds=30.0)
    d = dispatcher(s, queue, clock=lambda: clock[0])
    d.checker = Checks()
    await asyncio.wait_for(d.run_once(), 30)
    assert len(queue.calls) >= 3
    cutoff = queue.calls[0][0]
    for now, lease_ms, at in queue.calls:
        assert now == cutoff  # due at the pass's cutoff, as before
        assert now + lease_ms == at + 30_000  # held for lease_seconds from the claim
