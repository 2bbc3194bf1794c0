"""A bounded pool of workers: targets in (lazily), results out as they finish.

Never one task per target: `concurrency` workers pull from the iterable, and
a queue of the same size hands results to the consumer, so 50,000 targets
run in memory proportional to the concurrency, and a slow consumer slows
the workers instead of piling results up. Closing or cancelling the
consumer cancels the checks in flight at once (Ctrl-C ends a run promptly).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import Protocol, cast

from monitor.model import CheckResult, Kind
from monitor.targets import Target


class SupportsCheck(Protocol):
    async def check(self, url: str, kind: Kind) -> CheckResult: ...


_DONE = object()


async def check_targets(
    targets: Iterable[Target], checker: SupportsCheck, *, concurrency: int
) -> AsyncGenerator[tuple[Target, CheckResult], None]:
    """Yield `(target, result)` in completion order, at most `concurrency` in flight.

    An exception from a check (a bug: network failures are results) stops
    the run and is raised here, after the other workers are cancelled.
    """
    source: Iterator[Target] = iter(targets)
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, concurrency))

    async def worker() -> None:
        try:
            for target in source:  # shared iterator: each target goes to one worker
                result = await checker.check(target.url, target.kind)
                await queue.put((target, result))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await queue.put(exc)
            return
        await queue.put(_DONE)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
    running = len(workers)
    try:
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield cast(tuple[Target, CheckResult], item)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


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

    For targets that arrive while checking runs (a worker's pipe) and for
    callers that batch results themselves; `check_targets` is the iterator
    form. A check that raises (a bug) cancels the others and is raised here.
    """

    async def checker_loop() -> None:
        while (target := await queue.get()) is not None:
            if on_take is not None:
                on_take()
            kind, url = target
            on_result(url, await checker.check(url, kind))

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(checker_loop())
