"""A target claimed again while its old check still runs in a checker process
(its lease ran out): the old check's future is cancelled and a new one is
submitted, but the process runs both. Each result goes to the check it
answers, in the order they were sent (one host's checks in one process): the
old result went to the new check, which recorded a check older than its claim
and dropped its own (issue 16 hostile review)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from support.settings import settings

from monitor.daemon.checkers import ProcessChecker
from monitor.vocabulary import CheckResult, Kind, Outcome

URL = "http://news.example/a"


def result(status: int) -> CheckResult:
    return CheckResult(URL, Kind.WEB, Outcome.OK, datetime.now(UTC), http_status=status)


async def test_a_cancelled_checks_result_is_not_handed_to_the_next() -> None:
    checker = ProcessChecker(settings(), 1)
    loop = asyncio.get_running_loop()
    old: asyncio.Future[CheckResult] = loop.create_future()
    new: asyncio.Future[CheckResult] = loop.create_future()
    checker._waiting[URL] = deque((old, new))
    old.cancel()

    async def batches() -> AsyncIterator[list[tuple[str, CheckResult]]]:
        yield [(URL, result(201))]  # the old check's answer
        yield [(URL, result(202))]  # the new one's

    await checker._deliver(batches())
    assert new.result().http_status == 202
    assert not checker._waiting


async def test_results_of_live_checks_go_in_order() -> None:
    checker = ProcessChecker(settings(), 1)
    loop = asyncio.get_running_loop()
    first: asyncio.Future[CheckResult] = loop.create_future()
    second: asyncio.Future[CheckResult] = loop.create_future()
    checker._waiting[URL] = deque((first, second))

    async def batches() -> AsyncIterator[list[tuple[str, CheckResult]]]:
        yield [(URL, result(201)), (URL, result(202))]
        yield [(URL, result(203))]  # nobody waits for it: dropped

    await checker._deliver(batches())
    assert (first.result().http_status, second.result().http_status) == (201, 202)
    assert not checker._waiting
