"""`run --once` with checker processes: a check its process gives back for its
host's hold (CheckerDeferred) waits the hold out in the pass and is sent
again, its claim kept; it had its claim given back due at the hold's end,
after the pass's cutoff, so the pass never claimed it again and ended with
exit 0 and the target unchecked (R33). A stop during the wait gives the
claim back due now, at once. The daemon (not `--once`) gives it back as
before. The holds are 50 ms: bounds, not timings, are waited on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from support.dispatching import dispatcher, unanswered
from support.settings import settings

from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

HOLD = 0.05  # seconds: the hold the process tells
BOUND = 10.0  # seconds: a bound on a hang


class Repo:
    """One claim of one target, then nothing; what is given back, and when due."""

    def __init__(self) -> None:
        self.claims = 0
        self.released: list[tuple[list[int], int]] = []

    def claim_due(self, *args: Any) -> list[Claimed]:
        self.claims += 1
        if self.claims > 1:
            return []
        return [Claimed(7, "http://held.test/7/", Kind.WEB, TargetState(), 1, ())]

    def release(self, claims: list[tuple[int, int]], due: int) -> None:
        self.released.append(([i for i, _ in claims], due))


def ok(url: str) -> CheckResult:
    return CheckResult(url, Kind.WEB, Outcome.OK, datetime.now(UTC))


async def given_back(checker: ProcessChecker, left: float) -> None:
    """Process 0 gives back every check it holds, its host held `left` s more;
    then a few turns of the loop, for the checks' callbacks."""
    pool: Any = checker._pool
    pool.channels[0].deferred = {key: left for key in checker._waiting[0]}
    checker._deliver(pool)
    for _ in range(5):
        await asyncio.sleep(0)


async def until(condition: Callable[[], bool]) -> None:
    """Once `condition` holds (polled: a task's wait ends on a timer; BOUND)."""
    async with asyncio.timeout(BOUND):
        while not condition():  # noqa: ASYNC110 - a poll under a ceiling
            await asyncio.sleep(0.01)


async def sent(checker: ProcessChecker, n: int) -> list[asyncio.Future[CheckResult]]:
    """The checks waiting on process 0 once there are `n`."""
    await until(lambda: len(checker._waiting[0]) >= n)
    return list(checker._waiting[0].values())


def once_dispatcher(once: bool) -> tuple[Dispatcher, ProcessChecker, Repo, list[int]]:
    s = settings(once=once)
    repo = Repo()
    finished: list[int] = []
    d = dispatcher(s, repo, finish=lambda claim, result: finished.append(claim.id))
    checker = unanswered(ProcessChecker(s, 1))
    d.checker = checker
    return d, checker, repo, finished


async def test_run_once_sends_a_check_given_back_again_after_the_hold() -> None:
    d, checker, repo, finished = once_dispatcher(once=True)
    assert await d.dispatch(cutoff=d.now()) == 1
    (first,) = await sent(checker, 1)
    await given_back(checker, HOLD)
    assert 7 in d.inflight  # the pass waits for it: its claim is kept
    (second,) = await sent(checker, 1)  # sent again once the hold is over
    assert second is not first
    await given_back(checker, HOLD)  # held again as it reached the gate: waits once more
    (third,) = await sent(checker, 1)
    checker._waiting[0].pop(third.key)  # type: ignore[attr-defined]
    third.set_result(ok("http://held.test/7/"))
    await until(lambda: not d.inflight)
    assert finished == [7]
    assert repo.released == []  # never given back due later


async def test_run_once_stopped_during_the_wait_gives_the_claim_back_due_now() -> None:
    d, checker, repo, finished = once_dispatcher(once=True)
    await d.dispatch(cutoff=d.now())
    await sent(checker, 1)
    await given_back(checker, 3600.0)  # a hold beyond any pass: a stop ends the wait
    assert 7 in d.inflight
    before = d.now()
    async with asyncio.timeout(BOUND):
        await d.settle(grace=BOUND)
    assert finished == [] and not d.inflight
    ((ids, due),) = repo.released
    assert ids == [7] and due <= d.now() and due >= before  # due now, not in an hour
    assert not checker._waiting[0]  # nothing sent after the stop


async def test_the_daemon_gives_the_claim_back_due_at_the_holds_end() -> None:
    d, checker, repo, finished = once_dispatcher(once=False)
    spawned: list[Any] = []
    d._spawn = lambda coro, name: spawned.append(asyncio.ensure_future(coro))
    await d.dispatch()
    await sent(checker, 1)
    before = d.now()
    await given_back(checker, 30.0)
    await until(lambda: not d.inflight)  # the future's callback runs on a later turn
    await asyncio.gather(*spawned)
    assert not d.inflight and finished == []
    ((ids, due),) = repo.released
    assert ids == [7] and due >= before + 30_000  # as before: due at the hold's end
