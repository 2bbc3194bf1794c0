"""A stop gives back at once the checks still queued in checker processes.

The dispatcher holds up to 8x `concurrency` claims with checker processes,
7x of them queued in the processes. At a stop `settle` waited for them all
within `shutdown_grace`, and the processes went on starting queued requests
after the stop, so a stop took the whole grace and gave back most claims only
at its end (found by the second hostile review). The queued ones are now
cancelled in their process and given back first; only the running ones get
the grace.
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.dispatching import cancels_sent, dispatcher, unanswered
from support.settings import settings
from test_dispatch_run_once import Queue

from monitor.config import Settings
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.pace import Pace
from monitor.vocabulary import CheckResult, Kind


class Unpaced(Pace):
    def rate(self) -> float | None:
        return None  # capacity 2 x concurrency


class Held(ProcessChecker):
    """Checker processes whose checks never answer."""

    def __init__(self, s: Settings) -> None:
        super().__init__(s, 1)
        unanswered(self)
        self.futures: list[asyncio.Future[CheckResult]] = []

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult] | None:
        future = super().submit(url, kind)
        assert future is not None
        self.futures.append(future)
        return future


class Releases(Queue):
    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.released: list[list[int]] = []

    def release(self, leases: list[tuple[int, Any]], now: int) -> None:
        self.released.append(sorted(i for i, _ in leases))


async def test_a_stop_gives_back_the_queued_checks_first_and_waits_only_for_the_running() -> None:
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4  # 2 running, 2 queued in the process
    await d.settle(0.2)
    assert queue.released == [[2, 3], [0, 1]]  # the queued at once, the running after the grace
    assert all(f.cancelled() for f in checker.futures)
    assert not d.inflight


async def test_the_queued_checks_are_cancelled_as_the_stop_comes_not_after_a_claim() -> None:
    """`settle` first waits for a claim in progress (tens of ms, more under load);
    meanwhile the processes started ~150 queued requests at concurrency 1024."""
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4
    async with d._claiming:  # a claim under way
        d.stopping = True  # SIGTERM: service.stop()
        assert [f.cancelled() for f in checker.futures] == [False, False, True, True]
        # written to the process at once, not a turn of a busy loop later
        assert sorted(cancels_sent(checker)) == [f.key for f in checker.futures[2:]]  # type: ignore[attr-defined]
        settling = asyncio.create_task(d.settle(0.2))
        await asyncio.sleep(0)
        assert queue.released == []  # given back once the claim has ended
    await settling
    assert queue.released == [[2, 3], [0, 1]]
