"""`run --once` sees a stop through events, not by polling: with checks in flight
it woke every 0.25 s to look at `stopping` (a claim each time), and a failed
claim's pause slept in 0.25 s steps. The loop's clock is frozen here: a timer
fires only when the test moves it, so a poll shows as extra claims."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.exc import OperationalError
from support.dispatching import dispatcher
from support.settings import settings
from test_dispatch_run_once import Queue, turns

from monitor.vocabulary import CheckResult, Kind


class Hung:
    """Checks that never end (until the test's stop gives their claims back)."""

    async def check(self, url: str, kind: Kind) -> CheckResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Counted(Queue):
    def __init__(self, n: int, failures: int = 0) -> None:
        super().__init__(n)
        self.claims = 0
        self.failures = failures

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> Any:
        self.claims += 1
        if self.failures:
            self.failures -= 1
            raise OperationalError("UPDATE due_queue ...", None, Exception("database is locked"))
        return super().claim_due(now, limit, lease_ms, buckets)

    def release(self, claims: Any, now: int) -> None:
        pass


async def _frozen_clock() -> list[float]:
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    loop.time = lambda: now[0]  # type: ignore[method-assign]
    return now


async def test_a_stop_ends_the_wait_for_checks_in_flight_without_a_poll() -> None:
    clock = await _frozen_clock()
    queue = Counted(3)
    d = dispatcher(settings(concurrency=4, once=True), queue)
    d.checker = Hung()  # type: ignore[assignment]
    task = asyncio.create_task(d.run_once())
    await turns(50)
    assert len(d.inflight) == 3 and not task.done()
    claims = queue.claims
    clock[0] += 3600.0  # an hour: a poll would have claimed again by now
    await turns(50)
    assert queue.claims == claims, "the pass polled instead of waiting for a check's end"
    d.stopping = True
    await turns(20)
    assert task.done()
    await d.settle(0.0)


async def test_a_stop_ends_a_failed_claims_pause_at_once() -> None:
    await _frozen_clock()
    queue = Counted(3, failures=1)
    d = dispatcher(settings(concurrency=4, once=True), queue)
    d.checker = Hung()  # type: ignore[assignment]
    task = asyncio.create_task(d.run_once())
    await turns(50)
    assert queue.claims == 1 and not task.done()  # pausing before the next try
    d.stopping = True
    await turns(20)
    assert task.done() and queue.claims == 1
