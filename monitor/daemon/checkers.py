"""The daemon's checks in checker processes, so the database work and the checks
each get a core (issue 16).

In one process the daemon's event loop ran the checks and its database thread
claimed and recorded them, both under one GIL: `run` sustained 0.40x of
`check`'s checks/s and `run --once` took 2-3.5x its time. With many targets the
checks go to `monitor.check.worker` processes (the ones `check --workers`
uses), split by host so each host's politeness lives in one process, and
the daemon keeps claims, decisions, results and metrics. `ProcessChecker`
has the in-process `Checker`'s `check(url, kind)`, so the dispatcher does
not know which one it drives.

Not in a cluster (PostgreSQL): there members share the Retry-After backoffs
their checkers learn (`Checker.hosts`), which live in-process. Each process
tells the daemon its hosts' holds (pipe.py's holds frame), which
`WorkerHolds` keeps for the dispatcher: it starts none of a held host's
checks meanwhile (dispatch.py `held_back`). A worker that dies (or hangs, and
is killed) fails only the checks it held, which are tried once more
(dispatch.py) by the process started in its place; the Retry-After backoffs
it had learned are lost with it. The other processes go on: a death
restarted the whole pool once, and the healthy processes' checks were lost
and requested again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from monitor.check.channel import Channel
from monitor.check.pipe import ids_frame, requests_frame
from monitor.check.processes import HANG_SLACK, TARGET_BATCH, WorkerPool, host_owner
from monitor.config import Settings
from monitor.daemon.checker_deaths import CheckerDeaths
from monitor.daemon.prestart import (
    Prestarted,
    spawn_signals_held,
    worker_args,
)
from monitor.http.hostpool import HOLD_SLACK
from monitor.urls import url_host_key
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

# AUTO_MIN_TARGETS (prestart.py): below it the daemon checks in its own process:
# a checker process costs an interpreter (~50 MB, ~0.5 CPU-s) and every target
# crosses a pipe twice. Measured with bench/daemon_vs_check.py (bench/README.md).
RESTART_DELAY = 1.0  # after a checker process died, before the next is started
# ... doubled after each process that died as it started (a broken install would
# be started again every second for ever), up to this; reset by one that ran
RESTART_MAX = 60.0
STEADY_S = 10.0  # a process that lived this long (or answered) did not die as it started
# a process that skips requests as at a stop while the daemon runs on (a stray
# SIGUSR2 to it alone: it starts nothing from then on) is replaced after this
STRAY_STOP_S = 5.0


# a host's hold told by its process is forgotten this long after it ended with
# no answer since (its targets gone, or none due): a process forgets its idle
# hosts too (HostPool._forget_if_idle)
HOLD_FORGET_S = 600.0


class WorkerHolds:
    """The hosts held back in the checker processes, as their holds frames told
    them (`Channel.holds`): what `HostPool.refusing` says of the in-process
    checker's, for the dispatcher (dispatch.py `held_back`). A process put in a
    dead one's place starts with none, as its gates do."""

    def __init__(self, per_host: int, channels: Callable[[], list[Channel]]) -> None:
        self.per_host = per_host
        self._channels = channels
        self._clock = time.monotonic
        # host -> when (monotonic s) a hold learned from another cluster member ends
        # (`impose`): the claims of its host are given back until then, as a
        # HostPool's gate holds them
        self._imposed: dict[str, float] = {}

    def refusing(self) -> dict[str, tuple[float, float]]:
        """Hosts held back now, or whose last answer refused, with the seconds
        of their hold left (0 once over) and their last backoff."""
        now = self._clock()
        out: dict[str, tuple[float, float]] = {}
        for channel in self._channels():
            holds = channel.holds
            if not holds:
                continue
            for host, (end, backoff) in list(holds.items()):
                if end + HOLD_FORGET_S < now or (backoff <= 0 and end <= now):
                    del holds[host]
                else:
                    out[host] = (max(0.0, end - now), backoff)
        for host, end in list(self._imposed.items()):
            if end <= now:
                del self._imposed[host]
            else:
                left, backoff = out.get(host, (0.0, 0.0))
                out[host] = (max(left, end - now), backoff)
        return out

    # the cluster's heartbeat (cluster.py `beat_once`), as of a HostPool: a hold
    # told by a checker process was never shared with the other members, nor one
    # they shared applied here, though docs/scaling.md says Retry-After holds for
    # the cluster (a host handed over was asked again at once by its new member)

    def backoffs(self) -> dict[str, float]:
        """Hosts held back now, with the seconds left (shared across a cluster)."""
        return {host: left for host, (left, _) in self.refusing().items() if left > 0}

    def backoff_remaining(self, host: str) -> float:
        """Seconds `host` is still held back (0 when it is not): its own entries
        only, as the heartbeat asks it of each host the cluster shares."""
        ends = [channel.holds[host][0] for channel in self._channels() if host in channel.holds]
        ends.append(self._imposed.get(host, 0.0))
        return max(0.0, max(ends) - self._clock())

    def impose(self, host: str, seconds: float) -> None:
        """Hold `host` back for `seconds`, learned from another cluster member."""
        if seconds > 0:
            end = self._clock() + seconds
            self._imposed[host] = max(self._imposed.get(host, 0.0), end)


class CheckerDeferred(Exception):
    """Its host's hold (Retry-After, a 429/503 backoff) began while this check
    waited to be sent to its process or in its queue, for `left` seconds
    (beyond HOLD_SLACK): taken back, not sent (`_defer`), or given back by the
    process as it took it or waited at the host's gate, nothing sent
    (`_given_back`); not started, for the claim to be given back due at the
    hold's end (dispatch.py), as a claim of a held host is."""

    def __init__(self, left: float) -> None:
        super().__init__(f"its host is held back for {left:.1f} s")
        self.left = left


class CheckerGone(RuntimeError):
    """The checker process holding this check ended before answering it."""


class CheckerStopped(CheckerGone):
    """A stop signal reached the checker process holding this check before it
    started it, so it never will: the run is stopping (the process passed the
    signal on to the daemon), and the target is given back, not tried again."""


class ProcessChecker:
    """`check(url, kind)` answered by checker processes (monitor.check.worker).

    Each check is a request with its own id (`id % processes` is the process
    holding it): a result goes to the check it answers, and a check cancelled
    here (`future.cancel()`: its target was claimed again, or the daemon stops)
    is cancelled in its process too, so the host never sees the old request
    beside the new one. A process that dies fails only its own checks and is
    replaced in its place; the others go on.
    """

    hang_slack = HANG_SLACK
    stray_stop_s = STRAY_STOP_S

    def __init__(
        self,
        settings: Settings,
        processes: int,
        *,
        probe_db: str | None = None,
        prestarted: Prestarted | None = None,
    ) -> None:
        self.settings = settings
        self.processes = processes
        self.probe_db = probe_db  # the SQLite database where probe answers are kept
        self.prestarted = prestarted  # spawned before the daemon's imports (prestart.py)
        self._pool: WorkerPool | None = None
        # per process: its checks waiting by request id, its requests and cancels
        # to send (held while it is replaced), and whether it runs
        self._waiting: list[dict[int, asyncio.Future[CheckResult]]] = [{} for _ in range(processes)]
        self._pending: list[list[tuple[Kind, str, int]]] = [[] for _ in range(processes)]
        self._cancels: list[list[int]] = [[] for _ in range(processes)]
        self._live = [False] * processes
        self._next = 0  # request ids: _next * processes + the process's index
        self._flush_pending = False
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._stopped = False  # the daemon stops: no request is sent from now on
        self._stray: set[int] = set()  # processes watched for skipping as at a stop
        self.deaths = CheckerDeaths()  # whether they fail repeatedly (/readyz says it)
        # per-host state lives in the checker processes; their holds are told here
        self.hosts = WorkerHolds(settings.per_host, self._channels)

    async def __aenter__(self) -> ProcessChecker:
        args = worker_args(self.settings, self.probe_db)
        early = self.prestarted.take(args) if self.prestarted is not None else []
        pool = WorkerPool(self.settings, self.processes, local=False, prestarted=early)
        pool.hang_slack = self.hang_slack  # a hung process is killed by the pool's watch
        pool.worker_args = args  # text marks as the service asks of its in-process Checker
        with spawn_signals_held():
            await pool.__aenter__()
        self._pool = pool
        self._live = [True] * self.processes
        self._tasks = [
            asyncio.create_task(self._read(pool), name="checker-results"),
            asyncio.create_task(pool.kill_hung(), name="checker-hang-watch"),
            *(
                asyncio.create_task(self._keep(pool, b), name=f"checker-{b}")
                for b in range(self.processes)
            ),
        ]
        log.info("checking in %d checker processes", self.processes)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        pool, self._pool = self._pool, None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if pool is not None:
            await pool.__aexit__()
        for b in range(self.processes):
            self._fail(b, "the checker processes were stopped")

    def _channels(self) -> list[Channel]:
        return self._pool.channels if self._pool is not None else []

    def trouble(self) -> str | None:
        """Why the checker processes fail repeatedly, or None (/readyz's `checkers`)."""
        return self.deaths.trouble(asyncio.get_running_loop().time())

    async def check(self, url: str, kind: Kind) -> CheckResult:
        future = self.submit(url, kind)
        if future is None:
            raise CheckerGone("no checker process is running")
        return await future

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult] | None:
        """The check's future, without a coroutine around it (the dispatcher's fast
        path: a task per check was ~5% of the daemon's CPU); None once stopped.
        Cancelling the future cancels the check in its process; a process that
        dies fails it with CheckerGone."""
        pool = self._pool
        if pool is None or self._stopped:
            return None
        loop = asyncio.get_running_loop()
        # one process (the default) owns every host: no hash of the URL's host to
        # find it (host_owner gives 0 all the same; 0.7 us a check, issue 16)
        b = 0 if self.processes == 1 else host_owner(url, self.processes, parent_weight=0.0)
        key = self._next * self.processes + b
        self._next += 1
        future = _Check(loop=loop)
        future.key, future.owner = key, self
        self._waiting[b][key] = future
        pending = self._pending[b]
        pending.append((kind, url, key))
        if len(pending) >= TARGET_BATCH and self._live[b]:
            self._send(pool, b)
        elif not self._flush_pending:  # one write per process per turn of the loop
            self._flush_pending = True
            loop.call_soon(self._flush)
        return future

    def _cancelled(self, key: int) -> None:
        """A check cancelled here is cancelled in its process (its answer, a late
        result or its id, finds no check waiting and is dropped)."""
        b = key % self.processes
        if self._waiting[b].pop(key, None) is not None:
            self._cancels[b].append(key)
            if not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._flush)

    def stop(self) -> None:
        """The daemon stops: no request is sent from now on, only cancels. Those
        not sent yet fail with CheckerStopped (given back, not tried again): the
        checks held for a process being replaced, retries of a dead one's checks
        among them, went to its replacement after the stop (52 requests after
        SIGTERM at concurrency 16, a process killed just before). Each process
        is told (PARENT_STOPS) and answers every check it has not started
        (requests.py `stop`), failed here with CheckerStopped as it comes: what
        is left waiting is under way there, given the grace (settle.py)."""
        if self._stopped:
            return
        self._stopped = True
        if self._pool is not None:
            self._pool.signal_stop()  # before the cancels: they travel the pipes
        for b, waiting in enumerate(self._waiting):
            unsent = {key for _, _, key in self._pending[b]}
            self._pending[b] = []
            self._cancels[b] = [key for key in self._cancels[b] if key not in unsent]
            for key in unsent:
                future = waiting.pop(key, None)
                if future is not None and not future.done():
                    future.set_exception(CheckerStopped("the daemon is stopping"))

    def send_now(self) -> None:
        """Write what waits for the end of this turn of the loop at once (under
        load a turn of the daemon's loop lasts tens of ms)."""
        self._flush()

    def _flush(self) -> None:
        self._flush_pending = False
        pool = self._pool
        if pool is None:
            return
        for b in range(self.processes):
            if self._live[b] and (self._pending[b] or self._cancels[b]):
                self._send(pool, b)

    def _send(self, pool: WorkerPool, b: int) -> None:
        # cancels first: the old request stops before a new one of its target is read
        channel = pool.channels[b]
        pending = self._pending[b]
        if self._cancels[b]:
            # a request cancelled before it was sent is not sent, nor its cancel
            waiting = self._waiting[b]
            unsent = {r[2] for r in pending}
            pending = [r for r in pending if r[2] in waiting]
            cancels = [key for key in self._cancels[b] if key not in unsent]
            if cancels:
                channel.send(ids_frame(cancels))
            self._cancels[b] = []
        if b in self._stray:  # it would skip them: held for the process in its place
            self._pending[b] = pending
            return
        if pending:
            channel.send(requests_frame(pending), len(pending))
        self._pending[b] = []

    async def _read(self, pool: WorkerPool) -> None:
        while True:
            await pool.wake.wait()
            pool.wake.clear()
            self._deliver(pool)

    def _deliver(self, pool: WorkerPool) -> None:
        """Hand each result in the inbox to the check it answers."""
        inbox, waiting, n = pool.inbox, self._waiting, self.processes
        while inbox:
            batch = inbox.popleft()
            if batch is None:  # a process's output ended: `_keep` sees to it
                continue
            for key, result in cast(list[tuple[int, CheckResult]], batch):
                if key.__class__ is not int:  # no request's id (a URL, a bool): the
                    continue  # reader raised, ended, and nothing was delivered again
                future = waiting[key % n].pop(key, None)
                if future is not None and not future.done():
                    future.set_result(result)
        for b, channel in enumerate(pool.channels):
            if channel.held_new:
                self._defer(b, channel.held_new)
                channel.held_new = {}
            if channel.deferred:
                self._given_back(b, channel.deferred)
                channel.deferred = {}
            if channel.cancelled:
                # a check still waiting here was not cancelled by us: its process
                # skipped it at a stop (requests.py). The daemon running on, the
                # stop was not its own (a stray SIGUSR2): the check is tried again,
                # held for the process put in this one's place
                skipped = False
                for key in channel.cancelled:
                    future = waiting[key % n].pop(key, None)
                    if future is not None and not future.done():
                        future.set_exception(
                            CheckerStopped("its checker process was stopping")
                            if self._stopped
                            else CheckerGone("its checker process skipped it as at a stop")
                        )
                        skipped = True
                channel.cancelled.clear()
                if skipped and not self._stopped and b not in self._stray:
                    self._stray.add(b)  # sent nothing more: it would skip it
                    asyncio.get_running_loop().call_later(
                        self.stray_stop_s, self._replace_if_stray, pool, b, channel
                    )

    def _defer(self, b: int, held: dict[str, float]) -> None:
        """Process `b` began holding these hosts back (seconds left): its checks
        of them not sent to it yet (held while it is replaced, or for this turn
        of the loop) are taken back here, failed with CheckerDeferred. Those
        sent, the process gives back itself as it takes them (`_given_back`:
        no loop of it waits out a hold), and runs the others. Taken back by a
        guess of which it runs (its oldest share), they were cancelled there
        in flight: a check between its tries waits a hold out aside and another
        loop takes the queue (requests.py `park`), so a process runs more than
        its share, and the guess cancelled checks under way (a request sent,
        the connection closed before its answer; 11-14 in 20 s with 8 hosts
        answering 429 to two requests in three at concurrency 4, none before
        the parking)."""
        held = {h: left for h, left in held.items() if left > HOLD_SLACK}
        if not held or self._stopped:
            return
        waiting = self._waiting[b]
        later = []
        for _, url, key in self._pending[b]:
            future = waiting.get(key)
            host = url_host_key(url)
            if future is not None and host is not None and (left := held.get(host)) is not None:
                later.append((key, future, left))
        for key, future, left in later:
            self._cancelled(key)  # pops it from `waiting`; not sent yet, not sent at all
            if not future.done():
                future.set_exception(CheckerDeferred(left))
        if later:
            log.debug(
                "checks not yet sent for held-back hosts taken back",
                extra={"ctx": {"checks": len(later), "hosts": len(held)}},
            )

    def _given_back(self, b: int, deferred: dict[int, float]) -> None:
        """Process `b` gave these requests back, not started, as their host is held
        (seconds left; requests.py): each check still waiting here fails with
        CheckerDeferred, and its claim is given back due at the hold's end as
        `_defer`'s are. They are those `_defer` leaves it (its running share,
        taken first): each waited out the hold in one of its loops, and the
        other hosts' checks queued behind (R24)."""
        waiting = self._waiting[b]
        for key, left in deferred.items():
            future = waiting.pop(key, None)
            if future is not None and not future.done():
                future.set_exception(CheckerDeferred(left))

    def _replace_if_stray(self, pool: WorkerPool, b: int, channel: Channel) -> None:
        """A process skipped requests as at a stop, and the daemon did not stop: a
        stop signal reached it alone (SIGUSR2, which it does not pass on), and it
        would skip every request it is sent from now on. Killed, its keeper
        replaces it; the requests held for it meanwhile go to the new process."""
        transport = getattr(channel, "transport", None)
        if self._stopped or pool.channels[b] is not channel or transport is None:
            self._stray.discard(b)
            return
        if transport.get_returncode() is None:  # held until its keeper replaces it
            log.warning(
                "checker process %d skips its requests as if stopping, but the daemon "
                "runs on (a stray stop signal to it alone?): replaced",
                transport.get_pid(),
            )
            transport.kill()

    async def _keep(self, pool: WorkerPool, b: int) -> None:
        """Process `b`'s keeper: when it ends (dies, is killed as hung), fail the
        checks it held and start another in its place, after RESTART_DELAY (more
        after processes that died as they started)."""
        loop = asyncio.get_running_loop()
        delay, started = RESTART_DELAY, loop.time()
        while True:
            channel = pool.channels[b]
            await channel.exited.wait()
            self._live[b] = False  # requests and cancels wait for the next process
            await channel.output_ended.wait()
            self._deliver(pool)  # what it answered before it ended
            transport = channel.transport
            code = transport.get_returncode() if transport is not None else None
            pid = transport.get_pid() if transport is not None else None
            if transport is not None:
                transport.close()
            held = self._fail(b, "its checker process ended before answering", keep_pending=True)
            if self._stopped:  # nothing more will be sent: no process in its place
                log.error("a checker process (pid %s) ended (status %s) at the stop", pid, code)
                return
            if channel.received or loop.time() - started >= STEADY_S:
                delay = RESTART_DELAY  # it ran: not a process that cannot start
            self.deaths.died(
                loop.time(), f"exit status {code}" + (f": {channel.error}" if channel.error else "")
            )
            log.error(
                "a checker process (pid %s) ended (exit status %s%s) holding %d checks; "
                "starting another in its place in %g s",
                pid,
                code,
                f": {channel.error}" if channel.error else "",
                held,
                delay,
            )
            while True:
                await asyncio.sleep(delay)
                delay = min(2 * delay, RESTART_MAX)
                if self._stopped:
                    return
                try:
                    with spawn_signals_held():
                        pool.channels[b] = await pool.start_worker()
                    break
                except Exception as exc:  # EAGAIN, ENOMEM: its checks must not wait for ever
                    log.error("cannot start a checker process (%s); trying again", exc)
                    self._fail(b, f"no checker process could be started: {exc}")
                    self.deaths.cannot_start(b, str(exc))
            self.deaths.started(b)
            self._live[b] = True
            self._stray.discard(b)  # a new process: what was held for it goes now
            started = loop.time()
            self._flush()

    def _fail(self, b: int, why: str, *, keep_pending: bool = False) -> int:
        """Fail process `b`'s checks with CheckerGone, but those not sent to it yet
        when `keep_pending` (they go to its replacement); how many failed."""
        waiting = self._waiting[b]
        # the cancels were for the process that ended, or for requests not sent
        # yet: those are not sent at all (a cancelled one is no longer waiting)
        self._cancels[b] = []
        if keep_pending:
            self._pending[b] = [r for r in self._pending[b] if r[2] in waiting]
        else:
            self._pending[b] = []
        keep = {key for _, _, key in self._pending[b]}
        failed = [key for key in waiting if key not in keep]
        for key in failed:
            future = waiting.pop(key)
            if not future.done():
                future.set_exception(CheckerGone(why))
        return len(failed)


class _Check(asyncio.Future[CheckResult]):
    """A check's future that, cancelled, cancels its request in the checker
    process (at once, before a new check of its target is submitted). Not a
    done callback: each one was a handle on the loop, ~2 us a check."""

    __slots__ = ("key", "owner")
    key: int
    owner: ProcessChecker

    def cancel(self, msg: Any | None = None) -> bool:
        if not super().cancel(msg):
            return False
        self.owner._cancelled(self.key)
        return True
