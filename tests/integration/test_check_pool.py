"""The checker pool (`runner.check_queue`): bounded, fed while it runs, promptly cancellable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from support.checks import check_all
from support.servers import RawConn, raw_server
from support.settings import settings

from monitor.check.pool import TargetQueue, check_queue
from monitor.http import Checker
from monitor.vocabulary import CheckResult, Kind, Outcome


class CountingChecker:
    """A stand-in checker (the pool under test, not HTTP): records concurrency."""

    def __init__(self, delay: float = 0.001, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.now = 0
        self.peak = 0

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
            if url == self.fail_on:
                raise RuntimeError("bug in a check")
            return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))
        finally:
            self.now -= 1


async def test_every_target_once_with_bounded_concurrency() -> None:
    checker = CountingChecker()
    urls = [f"http://h{i % 50}.example/{i}" for i in range(2000)]
    results = await check_all(checker, ((Kind.WEB, u) for u in urls), concurrency=8)
    assert sorted(r.url for r in results) == sorted(urls)
    assert checker.peak == 8


async def test_cancelling_a_run_stops_real_checks_at_once() -> None:
    open_now = [0]
    all_open = asyncio.Event()
    all_closed = asyncio.Event()

    async def hang(conn: RawConn) -> None:
        await conn.read_request()
        open_now[0] += 1
        if open_now[0] == 8:
            all_open.set()
        try:
            await conn.reader.read()  # returns when the client goes away
        finally:
            open_now[0] -= 1
            if open_now[0] == 0:
                all_closed.set()

    async with raw_server(hang) as srv:
        s = settings({"news.example": srv.port}, timeout=30, per_host=8)
        targets = [(Kind.WEB, f"http://news.example/{i}") for i in range(100)]
        async with Checker(s) as checker:
            task = asyncio.create_task(check_all(checker, targets, concurrency=8))
            await asyncio.wait_for(all_open.wait(), 10)
            task.cancel()
            # the requests hang for their 30 s timeout: only abandoning them ends the run
            # within the guard
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            await asyncio.wait_for(all_closed.wait(), 10)  # every in-flight request abandoned
        assert srv.stats.connections == 8


async def test_check_queue_checks_arrivals_until_each_checker_gets_its_end() -> None:
    checker = CountingChecker()
    queue: TargetQueue = asyncio.Queue()
    seen: list[str] = []
    taken = 0

    def take() -> None:
        nonlocal taken
        taken += 1

    async def feed() -> None:  # targets keep arriving while checking runs
        for n in range(50):
            queue.put_nowait((Kind.WEB, f"http://x.example/{n}"))
            if n % 10 == 0:
                await asyncio.sleep(0.005)
        for _ in range(4):
            queue.put_nowait(None)

    await asyncio.gather(
        feed(),
        check_queue(
            queue,
            checker,
            concurrency=4,
            on_result=lambda url, result: seen.append(result.url),
            on_take=take,
        ),
    )
    assert sorted(seen) == sorted(f"http://x.example/{n}" for n in range(50))
    assert taken == 50
    assert checker.peak == 4


async def test_check_queue_raises_a_bug_in_a_check() -> None:
    queue: TargetQueue = asyncio.Queue()
    for n in range(10):
        queue.put_nowait((Kind.WEB, f"u{n}"))
    for _ in range(2):
        queue.put_nowait(None)  # the end, so a missed bug ends the call instead of hanging it
    with pytest.raises(ExceptionGroup) as caught:
        async with asyncio.timeout(10):
            await check_queue(
                queue, CountingChecker(fail_on="u3"), concurrency=2, on_result=lambda *_: None
            )
    assert caught.group_contains(RuntimeError, match="bug in a check")
