"""Answers from a checker process that no request of the daemon's carries (issue 16
hostile review): a key that is not a request id (a URL, as `check`'s targets
carry, a float, a bool) raised in the reader of every process's results, which
then ended: no result was delivered again, and the daemon recorded nothing
from then on, without a word. Such an answer is dropped, as a late answer to a
cancelled request is, and the others are delivered."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from typing import Any

from support.settings import settings

from monitor.daemon.checkers import ProcessChecker
from monitor.vocabulary import CheckResult, Kind, Outcome

URL = "http://news.example/a"


class Channel:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.cancelled: list[int] = []  # ids the process answered as cancelled
        self.held_new: dict[str, float] = {}  # hosts it began holding back (holds frames)
        self.deferred: dict[int, float] = {}  # requests it gave back (holds frames)
        self.holds: dict[str, tuple[float, float]] = {}

    def send(self, data: bytes, targets: int = 0) -> None:
        self.sent.append(data)


class Pool:
    def __init__(self, processes: int) -> None:
        self.channels = [Channel() for _ in range(processes)]
        self.inbox: deque[list[tuple[Any, CheckResult]] | None] = deque()


def result(status: int) -> CheckResult:
    return CheckResult(URL, Kind.WEB, Outcome.OK, datetime.now(UTC), http_status=status)


async def test_answers_under_keys_no_request_carries_are_dropped() -> None:
    c = ProcessChecker(settings(), 2)
    pool = Pool(2)
    c._pool = pool  # type: ignore[assignment]
    c._live = [True, True]
    future = c.submit(URL, Kind.WEB)
    assert future is not None
    await asyncio.sleep(0)
    [key] = [k for waiting in c._waiting for k in waiting]
    odd: list[Any] = [URL, "http://news.example/%d", float(key), True, False, None, -1, 10**30]
    pool.inbox.append([(k, result(500)) for k in odd] + [(key, result(200))])
    c._deliver(pool)  # type: ignore[arg-type]
    assert future.result().http_status == 200
    assert c._waiting == [{}, {}]
