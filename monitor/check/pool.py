"""A bounded pool of checkers fed by a queue: targets in, results out as they finish.

Never one task per target: `concurrency` checkers take targets from the
queue, so a run holds at most `concurrency` checks in flight whatever its
size. Cancelling the call cancels the checks in flight at once (Ctrl-C ends
a run promptly).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from monitor.vocabulary import CheckResult, Kind


class SupportsCheck(Protocol):
    async def check(self, url: str, kind: Kind) -> CheckResult: ...


TargetQueue = asyncio.Queue[tuple[Kind, str] | None]


async def check_queue(
    queue: TargetQueue,
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
            except asyncio.QueueEmpty:
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
