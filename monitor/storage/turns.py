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
longer than the busy timeout goes on without its turn and meets SQLite's own
wait and error, so a lock held too long fails as it always did. A thread
already holding the turn (a write inside a write) takes it again.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine


class WriteTurns:
    """A FIFO lock with a timeout, re-entrant per thread."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._owner: int | None = None  # the thread holding the turn
        self._depth = 0  # how many times it took it
        self._queue: deque[tuple[threading.Lock, int]] = deque()  # (gate, thread) in order

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Hold the turn for the body; yields False when the wait ran out (the
        body then goes on without it, and SQLite's busy timeout decides)."""
        got = self._take()
        try:
            yield got
        finally:
            if got:
                self._give()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def _take(self) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._queue:
                self._owner, self._depth = me, 1
                return True
            gate = threading.Lock()
            gate.acquire()
            entry = (gate, me)
            self._queue.append(entry)
        if gate.acquire(timeout=self.timeout):
            return True  # handed over: `_give` made this thread the owner
        with self._mutex:
            if entry in self._queue:
                self._queue.remove(entry)
                return False
        return True  # handed over between the timeout and the mutex

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


def register(engine: Engine, timeout: float) -> None:
    """Make the writers of this (SQLite) engine take turns."""
    _TURNS[engine] = WriteTurns(timeout)


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """The body runs in this engine's writers' turn (no turns for PostgreSQL,
    whose writers queue on the rows they lock, and wake when they are free)."""
    turns = _TURNS.get(engine)
    if turns is None:
        yield
        return
    with turns.turn():
        yield
