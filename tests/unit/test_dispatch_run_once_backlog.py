"""`run --once` whose claim is held back by the result writer's backlog.

A claim waits while more than 5 * CLAIM_BATCH results are queued for the
database. With a high `--concurrency`, checks that end at once (blocked
addresses, refused connections) filled the writer's queue past that; the next
claim took nothing, nothing was in flight, and the pass ended with exit 0,
leaving thousands of due targets unchecked (seen: 20,000 targets at
`--concurrency 5000`, 7,000 to 12,000 never checked). The pass now waits for
the writer and claims again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.settings import settings
from test_dispatch_run_once import Checks, Queue, turns

from monitor.daemon.dispatch import CLAIM_BATCH, Dispatcher


class BusyWriter:
    """A writer with a backlog over the claim's limit, which it commits bit by bit."""

    def __init__(self) -> None:
        self.backlog = 5 * CLAIM_BATCH + 1
        self.healthy = True

    async def commit_slowly(self) -> None:
        while self.backlog:
            await turns(5)
            self.backlog = max(0, self.backlog - 1000)


async def db(call: Any, *args: Any) -> Any:
    await turns(1)
    return call(*args)


async def test_run_once_waits_for_the_writers_backlog_and_checks_every_due_target() -> None:
    finished: list[int] = []
    writer = BusyWriter()
    s = settings(concurrency=4, once=True)
    d = Dispatcher(
        settings=lambda: s,
        repo=Queue(10),  # type: ignore[arg-type]
        db=db,
        writer=writer,  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append(claim.id),
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )
    d.checker = Checks()
    committing = asyncio.create_task(writer.commit_slowly())
    await asyncio.wait_for(d.run_once(), 30)
    await committing
    assert sorted(finished) == list(range(10))
    assert not d.inflight


async def test_run_once_still_ends_when_the_writer_cannot_write() -> None:
    """A writer that is failing (database down) does not hold the pass forever."""
    writer = BusyWriter()
    writer.healthy = False
    s = settings(concurrency=4, once=True)
    d = Dispatcher(
        settings=lambda: s,
        repo=Queue(10),  # type: ignore[arg-type]
        db=db,
        writer=writer,  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )
    d.checker = Checks()
    await asyncio.wait_for(d.run_once(), 30)
