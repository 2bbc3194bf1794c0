"""A worker's checkers: bounded loops over its queue of requests, each one
cancellable by the parent (by its id) while it runs or before it starts.

The daemon claims a target again when its lease ran out mid-check, and
cancels the old check. Cancelled only in the parent, the old request went on
in the checker process: the host saw two requests for one target at once,
and the old one's late answer was wasted. The parent's cancel now reaches
this process; the request stops (or is skipped if not started) and is
answered with its id in an ids frame instead of a result. A request for the
URL of one that is stopping waits until it has let go (its connection
closed), as the daemon's own checks do (dispatch.py): never two at once.

A stop signal that reaches this process too (a terminal's Ctrl-C, a service
manager's SIGTERM to the group) starts no more requests: the parent cancels
the queued ones when it sees the stop, but under load its cancels arrived
after the process had started hundreds of them. Each one skipped is answered
by its id as a cancelled one is; the parent, which did not cancel it, gives
its target back (daemon/checkers.py, CheckerStopped).

`check`'s targets carry their URL as key and are never cancelled; the
daemon's carry ids, which rise in the order they were sent (so an id at or
below the last one taken, and not running, has been answered already).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from monitor.check.pipe import Request, Row, result_row
from monitor.check.pool import SupportsCheck
from monitor.vocabulary import CheckResult


class Requests:
    def __init__(
        self,
        queue: asyncio.Queue[Request | None],
        checker: SupportsCheck,
        on_row: Callable[[Row], None],
        on_cancelled: Callable[[int], None],
        on_take: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.checker = checker
        self.on_row = on_row
        self.on_cancelled = on_cancelled
        self.on_take = on_take
        self.running: dict[int, tuple[asyncio.Task[None], str]] = {}  # id → its loop, its URL
        self.letting_go: dict[str, tuple[int, asyncio.Future[None]]] = {}  # URL → the one stopping
        self.stopping: set[int] = set()  # running ones cancelled, not yet stopped
        self.early: set[int] = set()  # cancelled before they were taken
        self.taken = -1  # the highest id taken
        # a stop signal reached this process (worker.py sets it): the parent stops
        # the run, so a request taken from now on is skipped, answered by its id
        self.stopped = False

    def cancel(self, ids: tuple[int, ...]) -> None:
        """Stop these requests (or skip them, not started); an id already answered
        is left alone: its result is on its way and stands for the answer."""
        for key in ids:
            running = self.running.get(key)
            if running is not None:
                if key not in self.stopping:
                    task, url = running
                    self.stopping.add(key)
                    if url not in self.letting_go:
                        self.letting_go[url] = (key, task.get_loop().create_future())
                    task.cancel()
            elif key > self.taken:
                self.early.add(key)

    async def run(self, concurrency: int) -> None:
        """`concurrency` loops, each until it takes a None; a check that raises (a
        bug) cancels the others and is raised here."""
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(self._loop())

    async def _loop(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        queue, checker, on_row, on_take = self.queue, self.checker, self.on_row, self.on_take
        while True:
            try:  # a queued request is taken without a coroutine (queue.get's own first step)
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                request = await queue.get()
            if request is None:
                return
            if on_take is not None:
                on_take()
            kind, url, key = request
            if key.__class__ is not int:  # `check`'s target, keyed by its URL
                on_row(result_row(key, await checker.check(url, kind)))
                continue
            assert isinstance(key, int)
            self.taken = key
            if key in self.early or self.stopped:
                self.early.discard(key)
                self.on_cancelled(key)
                continue
            self.running[key] = (me, url)
            result: CheckResult | None = None
            try:
                if self.letting_go:
                    await self._let_go(url)
                if not self.stopped:  # a stop signal while it waited: it never starts
                    result = await checker.check(url, kind)
            except asyncio.CancelledError:
                if key not in self.stopping:
                    raise  # the worker is stopping
                self.stopping.discard(key)
                if me.uncancel():
                    raise  # the worker is stopping too
                self.on_cancelled(key)
                continue
            finally:
                del self.running[key]
                if self.letting_go:
                    self._gone(key, url)
            if key in self.stopping:  # the check ended without seeing its cancel
                self.stopping.discard(key)
                me.uncancel()
            if result is None:
                self.on_cancelled(key)
                continue
            on_row(result_row(key, result))

    async def _let_go(self, url: str) -> None:
        """Wait while a cancelled request of `url` is stopping."""
        while (stopping := self.letting_go.get(url)) is not None:
            await asyncio.shield(stopping[1])  # our own cancel must not cancel theirs

    def _gone(self, key: int, url: str) -> None:
        stopping = self.letting_go.get(url)
        if stopping is not None and stopping[0] == key:
            del self.letting_go[url]
            stopping[1].set_result(None)
