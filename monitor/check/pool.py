"""A bounded pool of checkers fed by a queue: targets in, results out as they finish.

Never one task per target: `concurrency` checkers take targets from the
queue, so a run holds at most `concurrency` checks in flight whatever its
size. Cancelling the call cancels the checks in flight at once (Ctrl-C ends
a run promptly).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from monitor.vocabulary import CheckResult, Kind


class SupportsCheck(Protocol):
    async def check(self, url: str, kind: Kind) -> CheckResult: ...


Target = tuple[Kind, str]
TargetQueue = asyncio.Queue[Target | None]


class TargetSource(Protocol):
    def get_nowait(self) -> Target | None: ...

    async def get(self) -> Target | None: ...


class ReadyQueue:
    """The targets of a queue filled before it is read, its ends (None) included:
    `check`'s local share, started once every target is submitted. A deque's
    C methods, where asyncio.Queue's `put_nowait` and `get_nowait` are Python
    (~6.4 thousand instructions a target, ~1% of a check: issue 16). Once it is
    empty every target is taken and every checker has had its end, so `get`
    answers the end."""

    __slots__ = ("get_nowait", "put_nowait")

    def __init__(self) -> None:
        items: deque[Target | None] = deque()
        self.put_nowait: Callable[[Target | None], None] = items.append
        self.get_nowait: Callable[[], Target | None] = items.popleft  # IndexError once empty

    async def get(self) -> Target | None:
        return None


async def check_queue(
    queue: TargetSource,
    checker: SupportsCheck,
    *,
    concurrency: int,
    on_result: Callable[[str, CheckResult], None],
    on_take: Callable[[], None] | None = None,
) -> None:
    """`concurrency` checkers take `(kind, url)` from `queue`, each until it
    gets a None, and hand every result to `on_result` as it completes.

    Targets may arrive while checking runs (a worker's pipe). A check that
    raises (a bug) cancels the others and is raised here.
    """

    async def checker_loop() -> None:
        get_now, get = queue.get_nowait, queue.get
        while True:
            try:  # a queued target is taken without a coroutine (queue.get's own first step)
                target = get_now()
            except (asyncio.QueueEmpty, IndexError):  # IndexError: a ReadyQueue's deque
                target = await get()
            if target is None:
                return
            if on_take is not None:
                on_take()
            kind, url = target
            on_result(url, await checker.check(url, kind))

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(checker_loop())
