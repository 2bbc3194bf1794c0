"""Checks in checker processes run without a task each (issue 16: a task per
check was ~5% of the daemon parent's CPU): the checker's future goes into
`inflight` and its result to a callback. The task path's semantics hold:
a result is finished once, a dead checker's check is tried once more, a stop
waits for what is in flight (the retry included) and gives back the rest,
and a re-claim stops the old check before the new one starts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.settings import settings

from monitor.daemon.checkers import CheckerGone, ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


class Processes(ProcessChecker):
    """A ProcessChecker without processes: each check's future is the test's to end."""

    def __init__(self) -> None:
        super().__init__(settings(), 1)
        self.futures: list[tuple[str, asyncio.Future[CheckResult]]] = []
        self.running = True

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult] | None:
        if not self.running:
            return None
        future: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        self.futures.append((url, future))
        return future

    async def check(self, url: str, kind: Kind) -> CheckResult:  # the task path's call
        future = self.submit(url, kind)
        if future is None:
            raise CheckerGone("no checker process is running")
        return await future


def ok(url: str) -> CheckResult:
    return CheckResult(url, Kind.WEB, Outcome.OK, datetime.now(UTC))


class Repo:
    def __init__(self, n: int) -> None:
        self.n = n
        self.lease = 0
        self.released: list[tuple[int, int]] = []

    def claim_due(self, *args: Any) -> list[Claimed]:
        self.lease += 1
        return [
            Claimed(i, f"http://a.example/{i}", Kind.WEB, TargetState(), self.lease, ())
            for i in range(self.n)
        ]

    def release(self, claims: list[tuple[int, int]], now: int) -> None:
        self.released.extend(claims)


class Writer:
    backlog = 0


def dispatcher(
    repo: Repo, finished: list[tuple[Claimed, CheckResult]], checker: Processes
) -> Dispatcher:
    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    s = settings(concurrency=64)
    d = Dispatcher(
        settings=lambda: s,
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append((claim, result)),
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )
    d.checker = checker
    return d


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_checks_in_checker_processes_hold_no_task_and_finish_once() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    d = dispatcher(Repo(3), finished, checker)
    assert await d.dispatch() == 3
    assert not any(isinstance(t, asyncio.Task) for t, _ in d.inflight.values())
    for url, future in checker.futures:
        future.set_result(ok(url))
    await turns()
    assert sorted(c.id for c, _ in finished) == [0, 1, 2]
    assert not d.inflight


async def test_a_dead_checkers_check_is_tried_once_more_and_a_stop_waits_for_it() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    d = dispatcher(Repo(2), finished, checker)
    await d.dispatch()
    (url0, first0), (url1, first1) = checker.futures
    first0.set_exception(CheckerGone("a checker process ended before answering"))
    first1.set_result(ok(url1))
    await turns()
    assert [c.id for c, _ in finished] == [1]
    assert isinstance(d.inflight[0][0], asyncio.Task)  # the retry, in the check's place
    settling = asyncio.create_task(d.settle(grace=60))
    await turns()
    assert not settling.done()  # the stop waits for the retry
    _, again = checker.futures[2]
    again.set_result(ok(url0))
    await settling
    assert sorted(c.id for c, _ in finished) == [0, 1]
    assert not d.inflight and d.lost == 0


async def test_a_check_that_dies_twice_is_lost_once_counted() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    d = dispatcher(Repo(1), finished, checker)
    await d.dispatch()
    checker.futures[0][1].set_exception(CheckerGone("gone"))
    await turns()
    checker.futures[1][1].set_exception(CheckerGone("gone again"))
    await turns()
    assert finished == [] and d.lost == 1 and not d.inflight


async def test_a_stop_gives_back_what_did_not_finish_within_the_grace() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    repo = Repo(2)
    d = dispatcher(repo, finished, checker)
    await d.dispatch()
    checker.futures[0][1].set_result(ok(checker.futures[0][0]))
    await d.settle(grace=0)
    assert [c.id for c, _ in finished] == [0]
    assert repo.released == [(1, 1)]
    assert checker.futures[1][1].cancelled() and not d.inflight


async def test_a_reclaimed_target_stops_its_old_check_first() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    d = dispatcher(Repo(1), finished, checker)
    await d.dispatch()
    await d.dispatch()  # the same target with a new lease: its old check still runs
    await turns()
    (_, old), (url, new) = checker.futures
    assert old.cancelled()
    (task, claim) = d.inflight[0]
    assert claim.lease == 2
    new.set_result(ok(url))
    await turns()
    assert [(c.id, c.lease) for c, _ in finished] == [(0, 2)]  # the old one never finished
    assert not d.inflight and task.done()


async def test_without_a_running_process_the_check_goes_the_task_way() -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    checker.running = False
    d = dispatcher(Repo(1), finished, checker)
    await d.dispatch()
    await turns()
    assert d.lost == 1 and not d.inflight  # no process, twice: as the task path did


def failing_dispatcher(repo: Repo, checker: Processes) -> Dispatcher:
    d = dispatcher(repo, [], checker)

    def finish(claim: Claimed, result: CheckResult) -> None:
        raise RuntimeError("a decision that raises")

    d._finish = finish  # type: ignore[method-assign]
    return d


async def test_a_finish_that_raises_is_counted_on_the_future_path() -> None:
    checker = Processes()
    d = failing_dispatcher(Repo(2), checker)
    await d.dispatch()
    for url, future in checker.futures:
        future.set_result(ok(url))
    await turns()
    assert d.failed == 2 and not d.inflight  # logged, counted, its slot freed


async def test_a_finish_that_raises_is_counted_on_the_task_path() -> None:
    checker = Processes()
    d = failing_dispatcher(Repo(1), checker)
    await d.dispatch()
    await d.dispatch()  # a re-claim: the new check is a task
    await turns()
    url, future = checker.futures[-1]
    future.set_result(ok(url))
    await turns()
    assert d.failed == 1 and not d.inflight


def test_run_once_exits_1_when_checks_failed_unexpectedly() -> None:
    """`run --once` whose checks raised (a decision, a record) did not record them:
    it said 0, as if everything due had been checked and recorded."""
    from types import SimpleNamespace

    from monitor.daemon.service import Daemon

    fake = SimpleNamespace(
        _damaged=False,
        failure=None,
        settings=SimpleNamespace(once=True),
        writer=SimpleNamespace(backlog=0, error=None, dropped=1),
        claim_error=None,
        dispatcher=SimpleNamespace(lost=0, failed=2),
    )
    assert Daemon._exit_code(fake) == 1  # type: ignore[arg-type]
    assert fake.failure is not None and "3 checks failed" in fake.failure  # records dropped too
    fake.failure, fake.dispatcher.failed = None, 0
    assert Daemon._exit_code(fake) == 1  # type: ignore[arg-type]
    fake.failure, fake.settings.once = None, False
    assert Daemon._exit_code(fake) == 0  # type: ignore[arg-type]  # the daemon runs on


async def test_a_check_whose_process_dies_after_a_stop_is_given_back_not_sent_again() -> None:
    """Tried again, it went to the process started in the dead one's place: a
    request after the stop, which the stop then waited for."""
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    repo = Repo(1)
    d = dispatcher(repo, finished, checker)
    await d.dispatch()
    settling = asyncio.create_task(d.settle(grace=60))
    await turns()
    checker.futures[0][1].set_exception(CheckerGone("a checker process ended before answering"))
    await turns()
    assert len(checker.futures) == 1  # nothing submitted again
    async with asyncio.timeout(10):  # a bound on a hang, never a timing
        await settling
    assert [i for i, _ in repo.released] == [0] and not d.inflight and not finished
