"""`run --once` when every check it started ends while it claims again.

Seen as a flaky failure of test_daemon_overlap once claims got faster (issue
16): a pass claimed, the checks in flight all ended during the next claim's
database call, that claim found nothing more, and the pass then waited on
nothing: `asyncio.wait([])` raised ValueError and the daemon failed. Here the
same turn order is made certain with loop turns, not time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.settings import settings

from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class Checks:
    """Even targets answer after 1 loop turn, odd ones after 3."""

    async def check(self, url: str, kind: Kind) -> CheckResult:
        await turns(1 if int(url.rsplit("/", 1)[1]) % 2 == 0 else 3)
        now = datetime.now(UTC)
        return CheckResult(url=url, kind=kind, outcome=Outcome.OK, attempts=1, checked_at=now)


class Queue:
    """The due targets; a claim takes up to `limit` of them."""

    def __init__(self, n: int) -> None:
        self.due = list(range(n))

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> list[Claimed]:
        taken, self.due = self.due[:limit], self.due[limit:]
        return [Claimed(i, f"http://a.example/{i}", Kind.WEB, TargetState(), 1, ()) for i in taken]


class Writer:
    backlog = 0


async def db(call: Any, *args: Any) -> Any:
    await turns(10)  # a claim takes longer than any check here
    return call(*args)


async def test_run_once_ends_when_its_checks_end_during_a_claim() -> None:
    finished: list[int] = []
    queue = Queue(6)
    s = settings(concurrency=4, once=True)
    d = Dispatcher(
        settings=lambda: s,
        repo=queue,  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append(claim.id),
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )
    d.checker = Checks()
    await asyncio.wait_for(d.run_once(), 30)
    assert sorted(finished) == list(range(6))
    assert not d.inflight


async def test_a_stop_that_cancels_a_claim_midway_gives_its_targets_back() -> None:
    """The scheduler's shutdown cancels its running dispatch job; the claim in the
    database thread still commits its leases, so it must end and give them back."""
    entered, go = asyncio.Event(), asyncio.Event()
    released: list[list[tuple[int, int]]] = []
    queue = Queue(3)

    class Repo:
        claim_due = queue.claim_due

        def release(self, claims: list[tuple[int, int]], now: int) -> None:
            released.append(claims)

    async def slow_db(call: Any, *args: Any) -> Any:
        if call == queue.claim_due:
            entered.set()
            await go.wait()  # the claim is under way in the database thread
        return call(*args)

    s = settings(concurrency=4)
    d = Dispatcher(
        settings=lambda: s,
        repo=Repo(),  # type: ignore[arg-type]
        db=slow_db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )
    d.checker = Checks()
    job = asyncio.create_task(d.dispatch())
    await entered.wait()
    d.stopping = True
    job.cancel()  # the scheduler's shutdown
    go.set()
    assert await job == 0  # not a CancelledError for the scheduler to log
    await asyncio.wait_for(d.settle(1.0), 30)
    assert released == [[(0, 1), (1, 1), (2, 1)]]  # (target, lease): given back
    assert not d.inflight
