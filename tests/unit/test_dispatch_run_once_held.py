"""`run --once` whose last dispatch was held back, not drained.

With checker processes a claim waits until `concurrency` slots are free. A
dispatch that found fewer free took nothing; when every check in flight then
ended before the pass looked again (a whole frame of results delivered at
once), the pass saw nothing claimed and nothing in flight and ended with
exit 0: seen as 1,007 or 18,103 of 50,000 due targets checked
(`ARTICLE_MONITOR_WORKERS=2`, bench/daemon_vs_check.py). The pass now ends
only on a claim that found the queue drained. The turn order is made certain
here: the settings getter, read at the top of each dispatch, ends every check
in flight at that moment (their callbacks run after the dispatch returns).
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

from monitor.config import Settings
from monitor.daemon import once
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.pace import Pace
from monitor.vocabulary import CheckResult, Kind, Outcome


def ok(url: str, kind: Kind) -> CheckResult:
    return CheckResult(
        url=url, kind=kind, outcome=Outcome.OK, attempts=1, checked_at=datetime.now(UTC)
    )


CAPACITY = 8  # 2 x concurrency 4: no rate of checks known (pace.py)


class Unpaced(Pace):
    def rate(self) -> float | None:
        return None


class Processes(ProcessChecker):
    """Checker processes' futures: the first of each claim ends by itself, the
    rest when `end_all` is called."""

    def __init__(self, s: Settings) -> None:
        super().__init__(s, 1)
        self.pending: list[tuple[asyncio.Future[CheckResult], str, Kind]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def _end_later(self, future: asyncio.Future[CheckResult], url: str, kind: Kind) -> None:
        for _ in range(20):  # after the claim that started it has returned
            await asyncio.sleep(0)
        future.set_result(ok(url, kind))

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult] | None:
        future: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        if int(url.rsplit("/", 1)[1]) % CAPACITY == 0:
            self.tasks.add(asyncio.create_task(self._end_later(future, url, kind)))
        else:
            self.pending.append((future, url, kind))
        return future

    def end_all(self) -> None:
        pending, self.pending = self.pending, []
        for future, url, kind in pending:
            future.set_result(ok(url, kind))


def dispatcher(s: Settings, queue: Any, finished: list[int]) -> tuple[Dispatcher, Processes]:
    checker = Processes(s)
    d: Dispatcher

    def current() -> Settings:
        if d.claiming:  # the top of a dispatch: whatever is in flight ends now
            checker.end_all()
        return s

    d = make_dispatcher(
        current, queue, finish=lambda claim, result: finished.append(claim.id), pace=Unpaced()
    )
    d.checker = checker
    return d, checker


async def test_run_once_goes_on_when_a_held_back_dispatch_sees_its_checks_end() -> None:
    finished: list[int] = []
    s = settings(concurrency=4, once=True)  # capacity 8, a claim waits for 4 free
    d, _ = dispatcher(s, Queue(30), finished)
    await asyncio.wait_for(d.run_once(), 5)
    assert sorted(finished) == list(range(30))
    assert not d.inflight
    assert d.ended_by == "drained"


class FlakyQueue(Queue):
    """Claims that fail (database locked) the first `failures` times."""

    def __init__(self, n: int, failures: int) -> None:
        super().__init__(n)
        self.failures = failures

    def claim_due(self, now: int, limit: int, lease_ms: int, buckets: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise OperationalError("UPDATE due_queue ...", None, Exception("database is locked"))
        return super().claim_due(now, limit, lease_ms, buckets)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(once, "ONCE_CLAIM_RETRIES", (0.0, 0.0, 0.0))


@pytest.mark.usefixtures("quick_retries")
async def test_run_once_tries_a_failed_claim_again() -> None:
    """A lock held a moment too long no longer fails the pass (exit 1, nothing checked)."""
    finished: list[int] = []
    s = settings(concurrency=4, once=True)
    d, _ = dispatcher(s, FlakyQueue(30, failures=2), finished)
    await asyncio.wait_for(d.run_once(), 5)
    assert sorted(finished) == list(range(30))
    assert d.claim_error is None


@pytest.mark.usefixtures("quick_retries")
async def test_run_once_gives_up_on_claims_that_keep_failing() -> None:
    finished: list[int] = []
    s = settings(concurrency=4, once=True)
    d, _ = dispatcher(s, FlakyQueue(30, failures=1000), finished)
    await asyncio.wait_for(d.run_once(), 5)
    assert finished == []
    assert d.claim_error is not None and "database is locked" in d.claim_error


async def test_run_once_waits_while_not_a_live_cluster_member_then_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member not (yet) live claims nothing: the pass waits for it, and after the
    cluster timeout ends with the reason rather than with nothing checked and 0."""
    finished: list[int] = []
    s = settings(concurrency=4, once=True, cluster_timeout=0.3)
    d, _ = dispatcher(s, Queue(30), finished)
    live = False
    d._scope = lambda: (live, None)
    monkeypatch.setattr(once, "SCAN_POLL", 0.01)
    await asyncio.wait_for(d.run_once(), 5)
    assert finished == []
    assert d.claim_error is not None and "not a live member" in d.claim_error

    # a member that becomes live while the pass waits checks everything
    d2, _ = dispatcher(s, Queue(30), finished)
    calls = 0

    def scope() -> tuple[bool, None]:
        nonlocal calls
        calls += 1
        return calls > 3, None

    d2._scope = scope
    await asyncio.wait_for(d2.run_once(), 5)
    assert sorted(finished) == list(range(30))
    assert d2.claim_error is None
