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

A stop signal (the daemon's SIGUSR2 as it stops, or a terminal's Ctrl-C, a
service manager's SIGTERM to the group) starts no more requests, and every
request not started is answered at once (`stop`), by its id as a cancelled
one is: those queued, those held undecoded (worker_input.py), those still to
arrive, and those waiting at their host's gate with nothing sent (the gate
lets them go: HostPool.stop). So is a check under way where it would send
another request (a retry after its backoff or its host's 429/503 hold, a
redirect's next hop: Checker.stop_unsent): it records nothing. The parent,
which did not cancel them, gives their targets back (daemon/checkers.py,
CheckerStopped), and waits only for the requests on the wire, within its
grace. It guessed which those were (each
process's oldest share) and cancelled the rest: a check that waits out a hold
aside (`park`) lets a process run more than its share, so the guess cut checks
under way (their request sent, the connection closed before the answer), and
left checks waiting at a host's gate to start after the stop.

A request whose host is held back beyond HOLD_SLACK (a Retry-After, a 429/503
backoff) and that has sent nothing yet (it is taken while the hold lasts, or
waits at the host's gate when the hold begins) is not waited out here: the
gate raises HostHeld (the daemon's processes set `HostPool.defer_after`), and
the request is answered as given back (`on_deferred`, with the hold's seconds
left) for the daemon to give its claim back due at the hold's end. Waited
out, each held one of the process's `concurrency` loops, and its other hosts'
checks queued behind (R24: 100 pages behind 5,000 images of a host answering
`429 Retry-After: 30` waited out the 30 s).

A check that cannot be given back, a request of it sent (between its own
tries after a 429, a redirect's next hop), waits the hold out at the gate as
in-process, but not in its loop: the gate tells it (`park`, from
`HostPool.on_park`), another loop takes the queue from then on, and the
parked one ends with its check. Kept in their loops, the `per_host` checks
answered 429 together took every loop of a process whose share is
`per_host` (concurrency 8 over 2 processes, per_host 4) for the whole hold.
Requests in flight stay within the process's share: its client's limit
(http/client.py) holds a parked check's next try until a request ends.

`check`'s targets carry their URL as key and are never cancelled; the
daemon's carry ids, which rise in the order they were sent (so an id at or
below the last one taken, and not running, has been answered already).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from monitor.check.pipe import Request, Row, result_row
from monitor.check.pool import SupportsCheck
from monitor.http.hostpool import HostHeld
from monitor.vocabulary import CheckResult


class Requests:
    def __init__(
        self,
        queue: asyncio.Queue[Request | None],
        checker: SupportsCheck,
        on_row: Callable[[Row], None],
        on_cancelled: Callable[[int], None],
        on_take: Callable[[], None] | None = None,
        on_deferred: Callable[[int, float], None] | None = None,
    ) -> None:
        self.queue = queue
        self.checker = checker
        self.on_row = on_row
        self.on_cancelled = on_cancelled
        self.on_take = on_take
        # a request given back as its host is held (HostHeld): its id, the seconds
        # of the hold left; without it (a caller that never sets `defer_after`)
        # HostHeld is a bug and raised
        self.on_deferred = on_deferred
        self.running: dict[int, tuple[asyncio.Task[None], str]] = {}  # id → its loop, its URL
        self.letting_go: dict[str, tuple[int, asyncio.Future[None]]] = {}  # URL → the one stopping
        self.stopping: set[int] = set()  # running ones cancelled, not yet stopped
        self.early: set[int] = set()  # cancelled before they were taken
        self.taken = -1  # the highest id taken
        # the loops taking from the queue, and those whose check waits out a hold
        # (`park`): each ends with its check, another loop in its place
        self.loops: set[asyncio.Task[None]] = set()
        self.parked: set[asyncio.Task[None]] = set()
        self._group: asyncio.TaskGroup | None = None
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

    def stop(self) -> None:
        """A stop signal came: start nothing more, and answer every request not
        started by its id now, not as a loop frees (each may run a check for the
        parent's whole grace): the queued ones, and those to come (`drain` again
        as they are queued). The daemon's alone (keyed by an id); `check`'s
        parent stops its processes itself."""
        self.stopped = True
        self.drain()

    def drain(self) -> None:
        """After a stop: answer each of the daemon's requests in the queue by its
        id (skipped, not started), leaving `check`'s and the loops' ends."""
        if not self.stopped:
            return
        queue = self.queue
        kept: list[Request | None] = []
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if request is None or request[2].__class__ is not int:
                kept.append(request)
                continue
            key = request[2]
            assert isinstance(key, int)
            self.taken = max(self.taken, key)  # a cancel of it from now on is answered
            self.early.discard(key)
            self.on_cancelled(key)
        for request in kept:
            queue.put_nowait(request)

    async def run(self, concurrency: int) -> None:
        """`concurrency` loops, each until it takes a None; a check that raises (a
        bug) cancels the others and is raised here."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for _ in range(max(1, concurrency)):
                self.loops.add(group.create_task(self._loop()))
        self._group = None

    def park(self) -> None:
        """The current loop's check waits out its host's hold (a request of it sent,
        so it cannot be given back): a new loop takes the queue in its place, and
        this one ends when its check does. Its answer still comes."""
        me = asyncio.current_task()
        group = self._group
        if group is None or me not in self.loops:  # not a loop, or parked already
            return
        try:
            loop = group.create_task(self._loop())
        except RuntimeError:  # the group is stopping: nothing more to take
            return
        self.loops.discard(me)
        self.parked.add(me)
        self.loops.add(loop)

    async def _loop(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        queue, checker, on_row, on_take = self.queue, self.checker, self.on_row, self.on_take
        parked = self.parked
        while True:
            if parked and me in parked:  # another loop took its place
                parked.discard(me)
                return
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
            held: HostHeld | None = None
            try:
                if self.letting_go:
                    await self._let_go(url)
                if not self.stopped:  # a stop signal while it waited: it never starts
                    result = await checker.check(url, kind)
            except HostHeld as exc:
                if self.on_deferred is None:
                    raise
                held = exc
                if self.stopped:  # let go at a stop (HostPool.stop), not started or
                    # between its requests: skipped, not held
                    result = None
                    held = None
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
                if held is not None:  # the parent waits for it no more
                    self.on_cancelled(key)
                    continue
            if held is not None:
                assert self.on_deferred is not None
                self.on_deferred(key, held.left)
                continue
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
