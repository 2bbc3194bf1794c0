"""A checker process's requests (monitor.check.requests): the parent's cancel stops a
running request, skips one not started, leaves one already answered alone; each
request gets exactly one answer (a result or its id); a new request for the URL
of one that is stopping waits until it has let go; `check`'s targets (keyed by
their URL) are checked as before."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from monitor.check.pipe import Request, Row
from monitor.check.requests import Requests
from monitor.vocabulary import CheckResult, Kind, Outcome


class Held:
    """Holds every check of a URL in `held` until released; counts checks in flight."""

    def __init__(self, *held: str) -> None:
        self.held = set(held)
        self.release = asyncio.Event()
        self.started: list[str] = []
        self.now = Counter[str]()
        self.peak = 0

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        self.now[url] += 1
        self.peak = max(self.peak, self.now[url])
        try:
            if url in self.held:
                await self.release.wait()
        finally:
            for _ in range(3):  # letting go of a connection takes a few turns
                await asyncio.sleep(0)
            self.now[url] -= 1
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))


async def turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def run(
    checker: Held, requests: list[Request], concurrency: int = 2
) -> tuple[Requests, asyncio.Queue[Request | None], list[Row], list[int], asyncio.Task[None]]:
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    rows: list[Row] = []
    cancelled: list[int] = []
    r = Requests(queue, checker, rows.append, cancelled.append)
    for request in requests:
        queue.put_nowait(request)
    task = asyncio.create_task(r.run(concurrency))
    await turns()
    return r, queue, rows, cancelled, task


async def finish(queue: asyncio.Queue[Request | None], task: asyncio.Task[None], n: int) -> None:
    for _ in range(n):
        queue.put_nowait(None)
    await task


async def test_a_cancelled_running_request_stops_and_is_answered_by_its_id() -> None:
    checker = Held("u")
    r, queue, rows, cancelled, task = await run(checker, [(Kind.WEB, "u", 0), (Kind.WEB, "v", 1)])
    r.cancel((0,))
    await turns()
    assert cancelled == [0]
    assert [row[0] for row in rows] == [1]
    r.cancel((0, 1))  # both answered already: nothing happens
    await turns()
    await finish(queue, task, 2)
    assert cancelled == [0] and [row[0] for row in rows] == [1]
    assert not r.running and not r.stopping and not r.early and not r.letting_go


async def test_a_request_cancelled_before_it_is_taken_is_skipped() -> None:
    checker = Held("u")
    requests: list[Request] = [(Kind.WEB, "u", 0), (Kind.WEB, "w", 1), (Kind.WEB, "x", 2)]
    r, queue, rows, cancelled, task = await run(checker, requests, concurrency=1)
    r.cancel((2,))  # still queued behind the held one
    checker.release.set()
    await finish(queue, task, 1)
    assert checker.started == ["u", "w"]
    assert [row[0] for row in rows] == [0, 1] and cancelled == [2]


async def test_a_new_request_for_the_url_waits_until_the_old_one_let_go() -> None:
    checker = Held("u")
    r, queue, rows, cancelled, task = await run(checker, [(Kind.WEB, "u", 0)])
    checker.held.clear()
    r.cancel((0,))
    queue.put_nowait((Kind.WEB, "u", 1))  # the target claimed again, right behind its cancel
    await turns(30)
    await finish(queue, task, 2)
    assert cancelled == [0] and [row[0] for row in rows] == [1]
    assert checker.peak == 1  # never both at once


async def test_checks_targets_keyed_by_their_url() -> None:
    checker = Held()
    _, queue, rows, _, task = await run(checker, [(Kind.WEB, "u", "u"), (Kind.IMAGE, "v", "v")])
    await finish(queue, task, 2)
    assert sorted((row[0], row[1]) for row in rows) == [("u", 0), ("v", 0)]  # URL not repeated


async def test_a_worker_that_stops_still_stops_a_request_being_cancelled() -> None:
    """The parent's cancel and the worker's own end at once: the end wins."""
    checker = Held("u")
    r, _, rows, _, task = await run(checker, [(Kind.WEB, "u", 0)], concurrency=1)
    r.cancel((0,))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rows == []
