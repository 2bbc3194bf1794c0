"""The daemon's own writers of one SQLite file take turns, first come first served.

SQLite has one writer at a time, and a connection that finds the write lock
held waits in its busy handler: it sleeps 1, 2, 5, 10, ... up to 100 ms
between tries, however soon the lock is free, and never queues. In one
process the first corpus scan writes a batch of 500 articles per transaction
(~0.1 s) while the database thread claims and records checks: measured under
`run --once` on 50,000 targets, the database thread spent 4.7 s asleep on
BEGIN IMMEDIATE, one wait of 0.6 s, while the checker ran dry; and a writer
that commits and begins again at once (the scan's next batch) finds the lock
free before the sleeper wakes, so a waiter can lose every race for the
length of the scan.

Here the writers of one engine queue: a transaction that ends hands the lock
to the writer that asked first, at once. Only this process's writers queue;
other processes (a `status` command, a second daemon, the checker processes'
probe answers) still meet the busy handler, as before. A writer that waits
longer than the busy timeout goes on without its turn and meets SQLite's
error if the lock is still held, so a lock held too long fails after the busy
timeout as it always did. A thread already holding the turn (a write inside a
write) takes it again.

The wait for the turn comes out of the busy timeout (write_connection): a
writer queued behind one that waits on another process's lock otherwise
waited the busy timeout for its turn and then the busy timeout again in
SQLite, twice as long as before the turns. A waiter ended by an exception (a
signal handler's KeyboardInterrupt) leaves the queue, or passes on a turn
handed to it meanwhile: left there, the turn went to a thread that no longer
wanted it, and every later writer waited its timeout out.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

# seconds a writer may wait for its turn, however short the busy timeout (a SQLite
# URL's ?timeout=0): this process's transactions (a scan's batch, a claim) take
# well under it, and the busy timeout is for other processes' locks
TURN_AT_LEAST_S = 1.0
NOTED_WAIT_S = 0.001  # a wait for the turn shorter than this leaves the busy timeout as it is


class WriteTurns:
    """A FIFO lock with a timeout, re-entrant per thread."""

    def __init__(
        self,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        busy: float | None = None,
    ) -> None:
        self.timeout = timeout
        # the connections' own busy timeout (a SQLite URL's ?timeout=, 0 too), the
        # wait for another process's lock; `timeout` is the wait for this one's turn
        self.busy = timeout if busy is None else busy
        self.clock = clock  # measures the wait (write_turn)
        self._mutex = threading.Lock()
        self._owner: int | None = None  # the thread holding the turn
        self._depth = 0  # how many times it took it
        self._queue: deque[tuple[threading.Lock, int]] = deque()  # (gate, thread) in order

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Hold the turn for the body; yields False when the wait ran out (the
        body then goes on without it, and SQLite's busy timeout decides)."""
        got = False
        try:
            got = self._take()
            yield got
        finally:
            if got:
                self._give()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def _take(self) -> bool:
        me = threading.get_ident()
        if self._owner == me:  # only this thread makes itself the owner, unless it queued
            with self._mutex:
                self._depth += 1
            return True
        gate = threading.Lock()
        gate.acquire()
        entry = (gate, me)
        try:
            with self._mutex:
                if self._owner is None and not self._queue:
                    self._owner, self._depth = me, 1
                    return True
                self._queue.append(entry)
            if gate.acquire(timeout=self.timeout):
                return True  # handed over: `_give` made this thread the owner
            with self._mutex:
                if entry in self._queue:
                    self._queue.remove(entry)
                    return False
            return True  # handed over between the timeout and the mutex
        except BaseException:  # a signal handler's exception, raised while waiting
            self._abandon(entry)
            raise

    def _abandon(self, entry: tuple[threading.Lock, int]) -> None:
        """Leave the queue, or give back the turn taken or handed over meanwhile."""
        with self._mutex:
            if entry in self._queue:
                self._queue.remove(entry)
                return
            if self._owner != entry[1]:
                return
        self._give()

    def _give(self) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth > 0:
                return
            if self._queue:
                gate, thread = self._queue.popleft()
                self._owner, self._depth = thread, 1
                gate.release()
            else:
                self._owner = None


_TURNS: weakref.WeakKeyDictionary[Engine, WriteTurns] = weakref.WeakKeyDictionary()


def register(engine: Engine, timeout: float, busy: float | None = None) -> None:
    """Make the writers of this (SQLite) engine take turns, waiting `timeout` at
    most for one; `busy`: its connections' busy timeout, if not `timeout`."""
    _TURNS[engine] = WriteTurns(timeout, busy=busy)


@contextmanager
def write_turn(engine: Engine) -> Iterator[float | None]:
    """The body runs in this engine's writers' turn (no turns for PostgreSQL,
    whose writers queue on the rows they lock, and wake when they are free).
    Yields the seconds of the busy timeout left after the wait for the turn,
    or None when there was no wait to speak of (or no turns)."""
    turns = _TURNS.get(engine)
    if turns is None:
        yield None
        return
    start = turns.clock()
    with turns.turn():
        waited = turns.clock() - start
        yield None if waited < NOTED_WAIT_S else max(0.0, min(turns.busy, turns.timeout - waited))


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection of `engine` in its writers' turn, whose busy timeout is what
    the wait for the turn left of it; the connection goes back to the pool with
    its own busy timeout again."""
    with write_turn(engine) as left, engine.connect() as conn:
        if left is None:
            yield conn
            return
        _busy_timeout(conn, left)
        try:
            yield conn
        finally:
            turns = _TURNS.get(engine)
            if turns is not None and not conn.invalidated:
                try:
                    _busy_timeout(conn, turns.busy)
                except (sqlite3.Error, SQLAlchemyError):
                    with contextlib.suppress(SQLAlchemyError):
                        conn.invalidate()  # not back to the pool with a short busy timeout


def _busy_timeout(conn: Connection, seconds: float) -> None:
    """Set the connection's busy timeout on the driver's connection itself: a
    statement through `conn` would begin its transaction (autobegin)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
    finally:
        cursor.close()
