"""A corpus scan that failed for a passing database error is tried again soon.

The scan runs every `rescan_interval` (60 s by default, often set to an hour
for a big corpus). A first scan cut short by a full disk or a lock held too
long left most of the corpus unrecorded, so the daemon checked nothing of it
until the next interval, even once space was freed. Such a scan is retried
after 1 s, then 2, 4, ... up to the rescan interval, until one succeeds. The
log line for the cause stays one (the daemon's `scan_error`), not one per try.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from monitor.storage.opening import is_damage

FIRST_DELAY = 1.0


def transient(exc: SQLAlchemyError) -> bool:
    """A database error that may pass by itself: a disk full, a lock held, a lost
    connection (the DB-API's OperationalError). A damaged file never passes."""
    if is_damage(exc):
        return False
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    return isinstance(exc, OperationalError) or invalidated


@dataclass
class Backoff:
    """Delays that double from `first` up to `cap` (pure: no clock)."""

    cap: float
    first: float = FIRST_DELAY
    _next: float = 0.0

    def delay(self) -> float:
        """The next delay; each call doubles the following one."""
        now = min(self._next or self.first, self.cap)
        self._next = min(now * 2, self.cap)
        return now

    def reset(self) -> None:
        self._next = 0.0


class ScanRetry:
    """One pending retry of the scan at a time; a stop ends the wait at once."""

    def __init__(
        self,
        rescan: Callable[[bool], Awaitable[None]],
        stop: asyncio.Event,
        cap: Callable[[], float],
    ) -> None:
        self._rescan = rescan
        self._stop = stop
        self._cap = cap
        self.backoff = Backoff(cap())
        self._force = False  # a forced scan (SIGHUP: new keys) failed: so is its retry
        self._pending: asyncio.Task[None] | None = None  # waiting for its delay
        self._tasks: set[asyncio.Task[None]] = set()
        self.tries = 0  # retries started (tests)

    def failed(self, *, force: bool) -> float | None:
        """A scan failed for a passing cause: retry after the next delay (returned),
        unless a retry is already pending (None)."""
        self._force = self._force or force
        if self._pending is not None:
            return None
        self.backoff.cap = self._cap()  # a reload may have changed it
        delay = self.backoff.delay()
        task = asyncio.create_task(self._after(delay), name="rescan-retry")
        self._pending = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delay

    def succeeded(self, *, force: bool = False) -> None:
        """A scan recorded the corpus (a forced one: every file read again). A
        retry still waiting is then needless, unless it owes a forced scan that
        this one was not: a SIGHUP's scan that failed, then one that worked,
        re-read every file a second time when the retry came."""
        self.backoff.reset()
        if force:
            self._force = False
        if self._pending is not None and not self._force:
            self._pending.cancel()  # waiting for its delay (one scanning is not pending)
            self._pending = None

    async def _after(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
        self._pending = None  # the scan below may fail again and schedule the next try
        if self._stop.is_set():
            return
        force, self._force = self._force, False
        self.tries += 1
        await self._rescan(force)

    async def close(self) -> None:
        """The daemon stops: a retry still waiting ends now; one scanning is let end
        (its thread cannot be stopped; the scanner's `stopping` cuts it short)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        await asyncio.gather(*self._tasks, return_exceptions=True)
