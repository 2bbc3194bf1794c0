"""Blocking work whose thread a cancelled caller still waits for: `to_thread`'s
opposite of `unjoined`.

A cancelled `asyncio.to_thread` returns at once while its thread runs on. The
heartbeat was cancelled by a stop mid-beat: the member left (its row deleted)
while the beat still wrote, and the beat wrote the row back, so the others saw
a member that had stopped as live for `cluster_timeout`; the engine was then
disposed while the beat held a connection, left open to the garbage collector.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def joined_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a thread, as `to_thread` gives; cancelled, the caller
    waits for the thread's end before the cancellation goes on (a second
    cancellation does not wait)."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # retrieved: the caller, cancelled, does not report it
        raise
