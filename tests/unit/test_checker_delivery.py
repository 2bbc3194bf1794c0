"""A target claimed again while its old check still runs in a checker process
(its lease ran out): the old check's future is cancelled and a new one is
submitted. Each check is a request with its own id: the cancel goes down the
pipe to the process (ahead of any new request), and each result goes to the
check whose id it carries. Matched by URL, oldest first, a process that never
answered the old request (cancelled there, or a result it dropped) left the new
check with nothing, or with the old check's result (issue 16 hostile review)."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from typing import Any

from support.settings import settings

from monitor.check.pipe import Frames, answers_from_frame, requests_from_frame
from monitor.daemon.checkers import CheckerGone, ProcessChecker
from monitor.vocabulary import CheckResult, Kind, Outcome

URL = "http://news.example/a"


def result(status: int) -> CheckResult:
    return CheckResult(URL, Kind.WEB, Outcome.OK, datetime.now(UTC), http_status=status)


class Channel:
    """What the checker writes to one process: its frames, decoded."""

    def __init__(self) -> None:
        self.frames = Frames()
        self.requests: list[tuple[Kind, str, Any]] = []
        self.log: list[tuple[str, Any]] = []  # ("requests", ids) / ("cancel", ids), in order
        self.cancelled: list[int] = []  # ids the process answered as cancelled
        self.held_new: dict[str, float] = {}  # hosts it began holding back (holds frames)
        self.deferred: dict[int, float] = {}  # requests it gave back (holds frames)
        self.holds: dict[str, tuple[float, float]] = {}

    def send(self, data: bytes, targets: int = 0) -> None:
        for payload in self.frames.feed(data):
            got, cancels = requests_from_frame(payload)
            if cancels:
                self.log.append(("cancel", cancels))
            else:
                self.requests += got
                self.log.append(("requests", tuple(key for _, _, key in got)))


class Pool:
    def __init__(self) -> None:
        self.channels = [Channel()]
        self.inbox: deque[list[tuple[int, CheckResult]] | None] = deque()


def checker() -> tuple[ProcessChecker, Pool]:
    c = ProcessChecker(settings(), 1)
    pool = Pool()
    c._pool = pool  # type: ignore[assignment]
    c._live = [True]
    return c, pool


async def turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_result_goes_to_the_check_whose_id_it_carries() -> None:
    c, pool = checker()
    old = c.submit(URL, Kind.WEB)
    assert old is not None
    await turn()
    old.cancel()  # the lease ran out: the target is claimed again
    new = c.submit(URL, Kind.WEB)
    assert new is not None
    await turn()
    channel = pool.channels[0]
    (_, _, old_id), (_, _, new_id) = channel.requests
    assert old_id != new_id
    # the cancel reached the process, ahead of the new request
    assert channel.log == [("requests", (old_id,)), ("cancel", (old_id,)), ("requests", (new_id,))]
    # the process answers the new request only (the old one was cancelled there,
    # or its result was dropped): the new check has its own result all the same
    pool.inbox.append([(new_id, result(202))])
    c._deliver(pool)  # type: ignore[arg-type]
    assert new.result().http_status == 202
    pool.inbox.append([(old_id, result(201))])  # a late answer to the old one: dropped
    c._deliver(pool)  # type: ignore[arg-type]
    assert c._waiting == [{}]


async def test_results_of_live_checks_of_one_url_go_to_their_own_checks() -> None:
    c, pool = checker()
    first, second = c.submit(URL, Kind.WEB), c.submit(URL, Kind.WEB)
    assert first is not None and second is not None
    await turn()
    (_, _, a), (_, _, b) = pool.channels[0].requests
    pool.inbox.append([(b, result(202)), (a, result(201))])  # in any order
    c._deliver(pool)  # type: ignore[arg-type]
    assert (first.result().http_status, second.result().http_status) == (201, 202)
    assert pool.channels[0].log == [("requests", (a, b))]  # nothing cancelled


async def test_a_process_that_ends_fails_only_what_it_was_sent() -> None:
    """Requests not sent yet (the process was being replaced) wait for the next."""
    c, pool = checker()
    sent = c.submit(URL, Kind.WEB)
    await turn()
    c._live = [False]
    queued = c.submit(URL, Kind.WEB)
    await turn()
    assert sent is not None and queued is not None
    assert c._fail(0, "gone", keep_pending=True) == 1
    assert isinstance(sent.exception(), CheckerGone)
    assert not queued.done()
    c._live = [True]
    c._flush()
    assert [key for _, _, key in pool.channels[0].requests][-1] in c._waiting[0]


def test_a_worker_says_which_requests_it_cancelled() -> None:
    from monitor.check.pipe import ids_frame

    [payload] = Frames().feed(ids_frame([3, 5]))
    assert answers_from_frame(payload) == ([], (3, 5))


async def test_a_check_cancelled_while_its_process_is_replaced_is_never_sent() -> None:
    """Its request waited for the next process, its cancel was dropped with the
    dead one's: the new process got the old request beside the new one."""
    c, pool = checker()
    c._live = [False]  # the process died; its replacement is starting
    old = c.submit(URL, Kind.WEB)
    await turn()
    assert old is not None
    old.cancel()  # the target claimed again meanwhile
    new = c.submit(URL, Kind.WEB)
    await turn()
    assert new is not None
    c._fail(0, "gone", keep_pending=True)
    c._live = [True]
    c._flush()
    channel = pool.channels[0]
    assert [key for _, _, key in channel.requests] == list(c._waiting[0])  # the new one alone
    assert not new.done()


async def test_a_cancelled_task_awaiting_a_check_cancels_its_request() -> None:
    """The dispatcher's retry path awaits `check()` in a task: its cancel reaches
    the process too."""
    c, pool = checker()
    task = asyncio.create_task(c.check(URL, Kind.WEB))
    await turn()
    task.cancel()
    await turn()
    [(_, _, key)] = pool.channels[0].requests
    assert pool.channels[0].log == [("requests", (key,)), ("cancel", (key,))]
    assert task.cancelled() and c._waiting == [{}]
