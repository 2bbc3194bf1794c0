"""A fixed number of slots: a counter and a FIFO of waiters.

Used for the per-host limit (`hostpool.py`) and the global limit of requests
in flight (`client.py`), both taken on every request. Unlike an
asyncio.Semaphore, a free slot is taken without awaiting anything, and a
freed slot is handed straight to the first waiter, so arrival order holds.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    __slots__ = ("free", "size", "waiters")

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.free = self.size
        self.waiters: deque[asyncio.Future[None]] = deque()  # FIFO, each woken with a slot

    def available(self) -> bool:
        """Whether `try_take` would succeed."""
        return self.free > 0 and not self.waiters

    def in_use(self) -> bool:
        """Whether any slot is held or awaited."""
        return self.free < self.size or bool(self.waiters)

    def try_take(self) -> bool:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self, track: set[asyncio.Future[None]] | None = None) -> None:
        """A slot, in arrival order. Cancelled while waiting, nothing is held.
        `track`: the wait is in it while it waits; whoever fails it (with an
        exception: hostpool.py's HostHeld) ends the wait, nothing held."""
        if self.try_take():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        if track is not None:
            track.add(waiter)
        try:
            await waiter  # resolved by `give`, which hands its slot over
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give()  # handed a slot, then cancelled: pass it on
            elif waiter in self.waiters:
                # a cancelled waiter may already be gone: a `give` before it ran
                # skipped it (many cancelled at once: a checker process's re-claims)
                self.waiters.remove(waiter)
            raise
        finally:
            if track is not None:
                track.discard(waiter)

    def give(self) -> None:
        """Give a slot back: to the first waiter still waiting, else to the pool."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1
