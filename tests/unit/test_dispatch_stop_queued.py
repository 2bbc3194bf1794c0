"""A stop gives back at once the checks its checker processes did not start,
and waits only for those under way.

The dispatcher holds up to 8x `concurrency` claims with checker processes,
7x of them queued in the processes. At a stop `settle` waited for them all
within `shutdown_grace`, and the processes went on starting queued requests
after the stop (found by the second hostile review). Then the parent guessed
which were queued (all but each process's oldest share) and cancelled those:
a process running more than its share (a check waiting out a hold aside)
had a check under way cut, and one waiting at its host's gate started after
the stop (R25). Now each process answers the checks it did not start, and the
parent follows its answers: it gives those back first, as they come, and
gives the others the grace.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from support.dispatching import answer, cancels_sent, dispatcher, not_started, unanswered
from support.settings import settings
from test_dispatch_run_once import Queue

from monitor.config import Settings
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.pace import Pace
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


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

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> list[Claimed]:
        # leases that never run out: a claim kept at the stop is one to give back
        return [replace(c, lease=2**62) for c in super().claim_due(now, limit, lease_ms, buckets)]

    def release(self, leases: list[tuple[int, Any]], now: int) -> None:
        self.released.append(sorted(i for i, _ in leases))


async def test_a_stop_gives_back_what_the_process_did_not_start_and_waits_for_the_rest() -> None:
    """The process runs three (one more than its share of 2, a check waiting out a
    hold aside): the guess cancelled the third, under way."""
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4  # 2 running, 2 queued in the process, as it goes
    d.stopping = True  # SIGTERM: the process is told
    assert checker._pool.told_to_stop == 1  # type: ignore[union-attr]
    assert [f.cancelled() for f in checker.futures] == [False] * 4  # before: the last two
    assert cancels_sent(checker) == []
    not_started(checker, checker.futures[3])  # its answer: 0, 1 and 2 are under way
    await d.settle(0.2)
    assert queue.released == [[3], [0, 1, 2]]  # the one not started at once, the rest after
    assert not d.inflight


async def test_the_checks_not_started_are_given_back_as_the_answer_comes() -> None:
    """Not at the grace's end: a stop cut short by the service manager's SIGKILL
    left them leased."""
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4
    settling = asyncio.create_task(d.settle(30))  # a bound on a hang: the test ends it
    for _ in range(5):
        await asyncio.sleep(0)
    not_started(checker, *checker.futures[2:])
    for _ in range(5):
        await asyncio.sleep(0)
    assert queue.released == [[2, 3]] and not settling.done()  # the others run on
    for future in checker.futures[:2]:
        answer(checker, future, CheckResult("http://a/", Kind.WEB, Outcome.OK, datetime.now(UTC)))
    await settling
    assert queue.released == [[2, 3]]  # those under way finished: nothing else to give back


async def test_a_process_that_never_answers_the_stop_holds_it_for_the_grace_alone() -> None:
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4
    await d.settle(0.2)
    assert queue.released == [[0, 1, 2, 3]]
    assert all(f.cancelled() for f in checker.futures)
    assert not d.inflight


async def test_the_claims_not_started_are_given_back_once_a_claim_under_way_ended() -> None:
    """`settle` first waits for a claim in progress; the process is told at once."""
    s = settings(concurrency=2)
    queue = Releases(10)
    d = dispatcher(s, queue, pace=Unpaced())
    checker = Held(s)
    d.checker = checker
    assert await d.dispatch() == 4
    async with d._claiming:  # a claim under way
        d.stopping = True  # SIGTERM: service.stop()
        assert checker._pool.told_to_stop == 1  # type: ignore[union-attr]
        not_started(checker, *checker.futures[2:])
        settling = asyncio.create_task(d.settle(0.2))
        await asyncio.sleep(0)
        assert queue.released == []  # given back once the claim has ended
    await settling
    assert queue.released == [[2, 3], [0, 1]]
