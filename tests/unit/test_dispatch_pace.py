"""The pace of ended checks counts answered checks only: a check cancelled because
its target was claimed again (its lease ran out) or given back at a stop is not
a check done. Counted, a re-claim storm read as a fast pace, and the dispatcher
claimed further ahead of its checker processes than they could check within a
part of a lease (pace.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.dispatching import unanswered
from support.settings import settings

from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.pace import Pace
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


class CountingPace(Pace):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def ended(self) -> None:
        self.count += 1
        super().ended()


class Reclaiming:
    """Each claim hands out the same targets again, with a new lease."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.lease = 0

    def claim_due(self, *args: Any) -> list[Claimed]:
        self.lease += 1
        return [
            Claimed(i, f"http://h{i}.test/a", Kind.WEB, TargetState(), self.lease, ())
            for i in self.ids
        ]

    def release(self, claims: list[tuple[int, int]], now: int) -> None:
        pass


class Writer:
    backlog = 0


class Hanging:
    """A checker whose checks never answer (until cancelled)."""

    async def check(self, url: str, kind: Kind) -> CheckResult:
        await asyncio.Event().wait()
        raise AssertionError("never answered")


class Submitted(ProcessChecker):
    """Checker processes' fast path (a future per check, no task), answered by hand."""

    def __init__(self) -> None:  # processes that never answer: the test does
        super().__init__(settings(concurrency=8), 1)
        unanswered(self)
        self.futures: dict[str, asyncio.Future[CheckResult]] = {}

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult]:
        future = super().submit(url, kind)
        assert future is not None
        self.futures[url] = future
        return future


def _dispatcher(repo: Reclaiming, pace: Pace) -> Dispatcher:
    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    return Dispatcher(
        settings=lambda: settings(concurrency=8),
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: None,
        pace=pace,
    )


async def _turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_checks_cancelled_by_a_reclaim_are_not_counted_as_ended() -> None:
    pace = CountingPace()
    dispatcher = _dispatcher(Reclaiming([1, 2, 3]), pace)
    dispatcher.checker = Hanging()
    for _ in range(5):  # every claim cancels the three checks of the one before
        await dispatcher.dispatch()
        await _turns()
    assert pace.count == 0
    await dispatcher.settle(grace=0)  # a stop cancels them too: not checks done either
    assert pace.count == 0


async def test_checker_processes_count_answers_not_cancellations() -> None:
    pace = CountingPace()
    dispatcher = _dispatcher(Reclaiming([1, 2]), pace)
    checker = Submitted()
    dispatcher.checker = checker
    await dispatcher.dispatch()
    first = dict(checker.futures)
    await dispatcher.dispatch()  # both claimed again: the first futures cancelled
    await _turns()
    assert all(f.cancelled() for f in first.values())
    assert pace.count == 0
    checker.futures["http://h1.test/a"].set_result(
        CheckResult(
            url="http://h1.test/a", kind=Kind.WEB, outcome=Outcome.OK, checked_at=datetime.now(UTC)
        )
    )
    await _turns()
    assert pace.count == 1
    await dispatcher.settle(grace=0)  # the other one, queued, cancelled at the stop
    assert pace.count == 1
