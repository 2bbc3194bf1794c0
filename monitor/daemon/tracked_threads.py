"""Database work on threads that the stop waits for before the engine is disposed.

The scheduler's shutdown cancels its running jobs (rescan, maintenance,
checkpoint), and `/readyz` stops waiting for its ping after `PING_TIMEOUT`; a
cancelled `asyncio.to_thread` returns at once while its thread runs on. The
daemon then disposed the engine under it: the job's write landed after the
stop (a maintenance period's run claimed, retention deleting, by a daemon that
had said "stopped"), and its connection, checked out across the dispose, was
left to the garbage collector (psycopg's "deleted while still open"). The
reads of the observing side are the same: the metrics' background snapshot
(its task cancelled), a scrape's snapshot and a status read (their requests
cut short when the listener closes).

Each call gets a daemon thread, not the loop's executor: the stop waits for
it up to a bound, and one still stuck past that (a database that stopped
answering mid-statement) is left behind, and named in the stop's one warning
at its end (`name_left`; each wait that gave some up logged its own line, and
a read begun once the budget was spent got a second one); the process's exit
does not wait for it (asyncio.run joins the executor's threads, without
a bound; the interpreter's exit joins any pool's, hence `slots` rather than a
pool for work bounded in number), and the database rolls back its transaction
when the process ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from monitor.daemon.unjoined import settle_from_thread

T = TypeVar("T")

log = logging.getLogger("monitor.daemon")


class TrackedThreads:
    """The threads of the database work under way, for the stop to wait for."""

    def __init__(self) -> None:
        self._running: dict[asyncio.Future[Any], str] = {}
        # the task that started each, for `give_up` (a step cut at the stop)
        self._starters: dict[asyncio.Future[Any], asyncio.Task[Any] | None] = {}
        self._left: set[asyncio.Future[Any]] = set()  # waited for once, in vain
        # monotonic: when the daemon's stop began (ending.stop_begun), whose budget
        # what `ended` waits is left of; its log counts from then ("after 0 s" said
        # nothing at the budget's end)
        self.since: float | None = None

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        name: str,
        slots: asyncio.Semaphore | None = None,
        within: float | None = None,
    ) -> T:
        """`fn(*args)` on a thread of its own, as `to_thread` gives; cancelled, the
        caller goes on at once and the thread stays tracked until it ends.
        `slots`: how many such threads may run at once (the status reads', the
        writer's one), each held until its thread ends, not until its caller goes.
        `within`: TimeoutError after that long (a wait for a slot included), and a
        thread still running then is left behind as `ended` leaves one: the stop's
        last statements (the cluster's leave) are bounded as its waits are."""
        done: asyncio.Future[T] | None = None
        try:
            async with asyncio.timeout(within):
                if slots is not None:
                    await slots.acquire()  # cancelled while waiting: nothing started
                done = asyncio.get_running_loop().create_future()
                self._running[done] = name
                self._starters[done] = asyncio.current_task()
                done.add_done_callback(self._ended)
                if slots is not None:
                    done.add_done_callback(lambda _: slots.release())
                try:
                    settle_from_thread(done, fn, args, name)
                except BaseException:  # no thread (RuntimeError): nothing to wait for
                    done.cancel()
                    raise
                return await asyncio.shield(done)
        except TimeoutError:
            if done is not None and not done.done():
                self._left.add(done)  # given up on: the stop does not wait for it again
            raise

    def _ended(self, done: asyncio.Future[Any]) -> None:
        self._running.pop(done, None)
        self._starters.pop(done, None)
        self._left.discard(done)
        if not done.cancelled():
            done.exception()  # retrieved: a cancelled caller does not report it

    def give_up(self, starter: asyncio.Future[Any]) -> None:
        """The threads `starter` started, given up on as `ended` gives up: a step
        cut at the stop (ending.cut_at_stop) waited for its thread as long as the
        stop allows it, and the stop's later waits waited for it again."""
        self._left.update(f for f, task in self._starters.items() if task is starter)

    async def ended(self, within: float) -> bool:
        """Wait up to `within` seconds for the threads under way; those still
        running then are given up on, not waited for again, and named by
        `name_left`. True when none is left running (this wait's or an earlier
        one's)."""
        waiting = [f for f in self._running if f not in self._left]
        if not waiting:
            return not self._left
        _, pending = await asyncio.wait(waiting, timeout=within)
        self._left.update(pending)
        return not self._left

    def name_left(self) -> None:
        """The stop's one warning, at its end: the threads given up on that still
        run, each name once (with its count), the stop's length counted from its
        beginning (`since`)."""
        if not self._left:
            return
        began = time.monotonic() if self.since is None else self.since
        # a name given up on several times, once with its count: probes' pings
        # on a database that stopped answering each left one ("readiness-ping x3")
        counts = Counter(self._running[f] for f in self._left)
        names = ", ".join(n if k == 1 else f"{n} x{k}" for n, k in sorted(counts.items()))
        log.warning(
            "stopping without waiting further for database work still under way "
            "after %g s (%s): it ends on its own, or when the process exits (the "
            "database then rolls back what it had not committed)",
            round(time.monotonic() - began, 1),
            names,
        )
