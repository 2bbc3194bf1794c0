"""`run --once` between the tries of a claim that failed (hostile review #2).

A stop (SIGTERM) that came while the pass waited to try a failed claim again
was seen only once that wait was over (up to 5 s), when the pass otherwise
looks for one every STOP_POLL; and the tries were counted over the whole
pass, so a long pass whose claims failed now and then (a lock held a moment
too long, each time recovered) ended with exit 1 at the fifth such moment.
And a dispatch whose claims brought back only targets already in flight (their
leases ran out) claimed on for ever.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from support.dispatching import dispatcher as make_dispatcher
from support.settings import settings
from test_dispatch_run_once import Queue

from monitor.daemon import once
from monitor.daemon.dispatch import Dispatcher
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


def locked() -> OperationalError:
    return OperationalError("UPDATE due_queue ...", None, Exception("database is locked"))


class Instant:
    async def check(self, url: str, kind: Kind) -> CheckResult:
        raise AssertionError("nothing is claimed here")


def dispatcher(queue: Any, finished: list[int], concurrency: int = 4) -> Dispatcher:
    s = settings(concurrency=concurrency, once=True)
    return make_dispatcher(s, queue, finish=lambda claim, result: finished.append(claim.id))


class Failing:
    """Every claim fails; the first one sets `failed`."""

    def __init__(self) -> None:
        self.failed = asyncio.Event()

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> list[Claimed]:
        self.failed.set()
        raise locked()


async def test_a_stop_during_the_wait_before_a_claim_is_tried_again_ends_the_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(once, "ONCE_CLAIM_RETRIES", (3600.0,))
    queue = Failing()
    d = dispatcher(queue, [])
    d.checker = Instant()
    passing = asyncio.create_task(d.run_once())
    await queue.failed.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    d.stopping = True  # SIGTERM: service.stop()
    # an hour's wait before the stop was seen: the hang guard below fires
    await asyncio.wait_for(passing, 30)


class Checks:
    async def check(self, url: str, kind: Kind) -> CheckResult:
        return CheckResult(
            url=url, kind=kind, outcome=Outcome.OK, attempts=1, checked_at=datetime.now(UTC)
        )


class NowAndThen(Queue):
    """Every other claim fails (a lock held a moment too long), each time recovered."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.calls = 0

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> list[Claimed]:
        self.calls += 1
        if self.calls % 2:
            raise locked()
        return super().claim_due(now, limit, lease_ms, buckets)


async def test_claims_that_fail_now_and_then_over_a_long_pass_do_not_end_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(once, "ONCE_CLAIM_RETRIES", (0.0, 0.0))
    finished: list[int] = []
    d = dispatcher(NowAndThen(20), finished, concurrency=2)
    d.checker = Checks()
    await asyncio.wait_for(d.run_once(), 30)
    assert sorted(finished) == list(range(20))
    assert d.claim_error is None


class Held:
    """Checks that do not end until the test is over."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def check(self, url: str, kind: Kind) -> CheckResult:
        await self.release.wait()
        return CheckResult(
            url=url, kind=kind, outcome=Outcome.OK, attempts=1, checked_at=datetime.now(UTC)
        )


class Expired(Queue):
    """Two targets due; every claim takes them again, their leases run out (a
    lease_seconds shorter than a claim's round trip)."""

    def __init__(self) -> None:
        super().__init__(0)
        self.claims = 0

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> list[Claimed]:
        self.claims += 1
        self.due = [0, 1]
        return super().claim_due(now, limit, lease_ms, buckets)


async def test_claims_that_take_only_targets_in_flight_again_end_the_dispatch() -> None:
    """A claim that brings back only targets already in flight frees no slot and
    fills none: claiming on at once took them again and again, cancelling and
    restarting their checks, and the dispatch never returned (100% CPU)."""
    queue = Expired()
    d = dispatcher(queue, [])
    checker = Held()
    d.checker = checker
    try:
        await asyncio.wait_for(d.dispatch(), 10)  # 2 of the 4 slots: drained
        assert len(d.inflight) == 2
        # 2 slots free, and the claim brings back exactly 2: the same ones
        await asyncio.wait_for(d.dispatch(), 10)
        assert queue.claims <= 3
        assert len(d.inflight) == 2
    finally:
        d.stopping = True
        checker.release.set()
        await asyncio.gather(*(t for t, _ in d.inflight.values()), return_exceptions=True)
