"""A corpus scan that failed for a passing database error is tried again soon.

The scan runs every `rescan_interval` (60 s by default, often set to an hour
for a big corpus). A first scan cut short by a full disk or a lock held too
long left most of the corpus unrecorded, so the daemon checked nothing of it
until the next interval, even once space was freed. Such a scan is retried
after 1 s, then 2, 4, ... up to the rescan interval, until one succeeds. The
log line for the cause stays one (the daemon's `scan_error`), not one per try.
A lasting error (a missing table, a read-only or damaged file) is not retried
before the next rescan: it is the scan's error until someone mends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from monitor.storage.opening import sqlite_code

FIRST_DELAY = 1.0

# SQLite's primary result codes that no wait mends: a damaged file (corrupt, not a
# database), a schema that is not ours ("no such table/column" are SQLITE_ERROR), a
# file or folder made read-only, a refused permission, a statement too big or
# misused. Each is an OperationalError or DatabaseError like a full disk or a lock.
# Passing ones stay passing: BUSY, LOCKED, FULL, IOERR (a network file system),
# NOMEM, CANTOPEN (out of file descriptors, a volume remounting), PROTOCOL, SCHEMA.
LASTING_SQLITE = frozenset(
    {
        sqlite3.SQLITE_ERROR,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_TOOBIG,
        sqlite3.SQLITE_CONSTRAINT,
        sqlite3.SQLITE_MISMATCH,
        sqlite3.SQLITE_MISUSE,
        sqlite3.SQLITE_AUTH,
        sqlite3.SQLITE_RANGE,
        sqlite3.SQLITE_NOTADB,
    }
)
# PostgreSQL's SQLSTATE classes that no wait mends: data (22), integrity (23), a
# read-only transaction and other invalid states (25), authorization (28), a
# database or schema that does not exist (3D, 3F), syntax and access rules (42:
# no such table or column, permission denied), limits of a statement (54), and
# corrupt data or indexes (XX). Passing: connection (08), serialization and
# deadlock (40), resources such as a full disk (53), locks (55), shutdowns and
# cancels (57), system I/O (58).
LASTING_SQLSTATE_CLASSES = frozenset({"22", "23", "25", "28", "3D", "3F", "42", "54", "XX"})


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE behind `exc` (psycopg's `.sqlstate`), if any."""
    state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def transient(exc: SQLAlchemyError) -> bool:
    """A database error that may pass by itself: a disk full, a lock held, a lost
    connection. Told by the driver's code where it gives one (SQLite's result code,
    PostgreSQL's SQLSTATE): a missing table, a read-only file or a damaged one share
    the DB-API's OperationalError with a full disk, and were retried every few
    seconds for as long as the daemon ran. Otherwise a connection found broken
    passes, and so does the DB-API's OperationalError, and the connection pool
    run dry for its timeout (no DB-API error: it was read as lasting)."""
    if isinstance(exc, PoolTimeout):
        return True
    code = sqlite_code(exc)
    if code is not None:
        return code not in LASTING_SQLITE
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = sqlstate(exc)
    if state is not None:
        return state[:2] not in LASTING_SQLSTATE_CLASSES
    return isinstance(exc, OperationalError)


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
        """The daemon stops: a retry still waiting ends now, and so does the wait
        for one scanning. Its thread cannot be stopped (the scanner's `stopping`
        cuts it short at the next article); it is tracked, and the stop waits for
        it within its bound (tracked_threads.py). Awaited whole, a retry stuck in
        a statement on a database that stopped answering held the stop for good."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
