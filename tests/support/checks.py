"""Run many checks through the product's checker pool (`runner.check_queue`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from monitor.check.pool import SupportsCheck, TargetQueue, check_queue
from monitor.vocabulary import CheckResult, Kind


async def check_all(
    checker: SupportsCheck, targets: Iterable[tuple[Kind, str]], *, concurrency: int
) -> list[CheckResult]:
    """Every target checked, at most `concurrency` at a time; results in completion order."""
    queue: TargetQueue = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)
    for _ in range(concurrency):
        queue.put_nowait(None)
    results: list[CheckResult] = []
    await check_queue(
        queue, checker, concurrency=concurrency, on_result=lambda _, r: results.append(r)
    )
    return results
