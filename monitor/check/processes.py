"""Checking with several processes, so a big run can use every core.

One asyncio process saturates one core at a few thousand checks per second
(parsing heads and image headers is CPU work). `check --workers N` splits the
targets by host across N checkers, the parent itself and N-1
`monitor.check.worker` processes, so each host's politeness (its concurrency
limit, interval and backoff) still lives in one process, and merges their
results as they arrive. The parent checks a share of its own because a
worker is a whole interpreter (~50 MiB, ~0.6 CPU-s to start) and every
result it checks crosses a pipe twice; measured on 50,000 URLs with
`--workers 2`, parent + 1 worker took 166 MiB and 29 CPU-s against
192 MiB and 30.3 CPU-s for parent + 2 workers, and less wall time.

The pool is started before the corpus is read, so the workers' interpreter
start and imports overlap the parent's loading, and targets are submitted
as they are found, so checking starts while the corpus is still loading.
Both directions batch: many targets or results per frame, one write per
frame (monitor.check.pipe). A worker whose output stops inside a frame, or is not
a frame of the format at all, fails the run like one that died: its
unfinished targets are missing, and the report says it is incomplete.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zlib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from monitor.check.pipe import Frames, answers_from_frame, frame, targets_frame
from monitor.check.pool import TargetQueue, check_queue
from monitor.check.prestart import (
    AUTO_MAX_WORKERS,
    AUTO_MIN_TARGETS,
    WORKER_ARGS,
    AdoptedProcess,
    auto_workers,
    discard,
)
from monitor.check.prestart import stop_signals_held as _stop_signals_held
from monitor.config import Settings
from monitor.retry import tries_seconds
from monitor.urls import host_key
from monitor.vocabulary import CheckResult, Kind

if TYPE_CHECKING:
    import ssl


class WorkerFailed(Exception):
    """A checker process died: the run cannot be complete."""


__all__ = ["AUTO_MAX_WORKERS", "AUTO_MIN_TARGETS", "WorkerFailed", "WorkerPool", "auto_workers"]
TARGET_BATCH = 256  # targets per frame to a worker
HANG_SLACK = 10.0  # seconds beyond the longest check before a silent worker counts as hung


def longest_check(s: Settings) -> float:
    """The longest one check can take: its tries' timeouts and the waits between them,
    twice over for the soft-404 probe's own request."""
    return 2 * tries_seconds(s)


def _host_hash(url: str) -> int:
    """A stable number for `url`'s host (crc32, not hash(): the same in every process)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("http", "https"):  # one parse per authority, cached
        return _authority_hash(rest.partition("/")[0].partition("?")[0].partition("#")[0])
    return _authority_hash(None, url)


@lru_cache(maxsize=4096)
def _authority_hash(authority: str | None, url: str = "") -> int:
    try:
        host = (urlsplit(url if authority is None else "//" + authority).hostname or "").lower()
    except ValueError:
        host = ""
    # the engine's per-host gate's own key: every spelling of a host (case, a
    # trailing dot, Unicode or punycode, IPv6 forms) goes to one checker
    return zlib.crc32(host_key(host).encode("utf-8", "surrogatepass"))


# The parent also reads the corpus (before it starts checking), assembles
# and writes the report, so its share of the hosts is smaller than a
# worker's: with --workers 2 it checks ~0.75/1.75 of the hosts, the worker
# 1/1.75. Measured on the benchmark corpus (bench/tree_rss.py, interleaved
# runs): wall 14.4 s median at 0.75 against 16.8 s at 0.6, once a check's
# own CPU had fallen (the worker's start-up and pipe weigh more).
PARENT_WEIGHT = 0.75


def host_owner(url: str, children: int, *, parent_weight: float = PARENT_WEIGHT) -> int:
    """Who checks `url`'s host: -1 for the parent, else the child's index.

    Every URL of a host goes to the same one (politeness lives in one
    process); `children == 0` means the parent checks everything.
    """
    if children == 0:
        return -1
    slot = _host_hash(url) % 1000
    cut = int(1000 * parent_weight / (parent_weight + children))
    return -1 if slot < cut else (slot - cut) % children


Batch = list[tuple[str, CheckResult]]


class _Channel(asyncio.SubprocessProtocol):
    """One worker's pipes: splits its stdout into frames and decodes them."""

    def __init__(self, inbox: deque[Batch | None], wake: asyncio.Event) -> None:
        self.inbox = inbox
        self.wake = wake
        self.frames = Frames()
        self.error: str | None = None  # why its output cannot be trusted
        self.torn = 0  # bytes of an unfinished frame when its output ended
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.exited = asyncio.Event()
        self.output_ended = asyncio.Event()  # its stdout closed: every result is in the inbox
        self.sent = 0  # targets handed to the worker
        self.received = 0  # results it sent back (and requests it says it cancelled)
        # the ids it answered as cancelled: those the parent cancelled, and those it
        # skipped when a stop signal reached it (the daemon's: checkers.py)
        self.cancelled: list[int] = []
        self.early: list[bytes] = []  # written before the pipe was connected
        self.early_close = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # duck-typed: uvloop's transports do not derive from asyncio's classes
        self.transport = cast(asyncio.SubprocessTransport, transport)
        stdin = cast(asyncio.WriteTransport | None, self.transport.get_pipe_transport(0))
        self.stdin = stdin
        if stdin is None:
            return
        # some loops (uvloop) connect only after subprocess_exec has returned
        for data in self.early:
            stdin.write(data)
        self.early.clear()
        if self.early_close:
            stdin.close()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self.error is not None:
            return  # nothing after garbage is believed
        try:
            for payload in self.frames.feed(data):
                batch, cancelled = answers_from_frame(payload)
                self.received += len(batch) + len(cancelled)
                if batch:
                    self.inbox.append(batch)
                if cancelled:
                    self.cancelled.extend(cancelled)
        except Exception as exc:  # CorruptFrame, or a row the model rejects
            self.error = f"sent output that is not results ({type(exc).__name__}: {exc})"[:500]
            if self.transport is not None and self.transport.get_returncode() is None:
                self.transport.kill()  # it cannot be talked to any more
        self.wake.set()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 0:
            self.stdin = None  # the worker is gone: nothing more to send it
        elif fd == 1:
            self.torn = self.frames.pending  # a frame it did not finish
            self.inbox.append(None)  # end of this worker's results
            self.output_ended.set()
            self.wake.set()

    def process_exited(self) -> None:
        self.exited.set()

    def send(self, data: bytes, targets: int = 0) -> None:
        """Write to the worker; `targets` counts as assigned even if the pipe is
        gone, so targets that never reached it show up as missing results."""
        self.sent += targets
        if self.transport is None:
            self.early.append(data)
        elif self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(data)

    async def wait(self) -> int | None:
        """The exit status, once the process has ended."""
        await self.exited.wait()
        return self.transport.get_returncode() if self.transport else None

    def close_input(self) -> None:
        if self.transport is None:
            self.early_close = True
        elif self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()


class _Local:
    """The parent's own share, checked on its event loop: no pipe, no copy.

    It starts once every target is submitted (`close_input`): checking while
    the corpus is read would slow the reading down, and no article can be
    written, nor its results freed, until the corpus is read to the end.
    """

    def __init__(
        self,
        settings: Settings,
        inbox: deque[Batch | None],
        wake: asyncio.Event,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.tls = tls  # built by the caller (check's --ca-bundle): not loaded again
        self.inbox = inbox
        self.wake = wake
        self.queue: TargetQueue = asyncio.Queue()
        self.out: Batch = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    def close_input(self) -> None:
        for _ in range(self.settings.concurrency):
            self.queue.put_nowait(None)

    def _deliver(self) -> None:
        self.inbox.append(self.out)
        self.out = []
        self.wake.set()

    async def _run(self) -> None:
        from monitor.http import Checker  # only a run that checks here needs the engine

        loop = asyncio.get_running_loop()

        def on_result(url: str, result: CheckResult) -> None:
            if not self.out:  # the first of a batch: deliver once this turn of the loop ends
                loop.call_soon(self._deliver)
            self.out.append((url, result))

        try:
            async with Checker(self.settings, tls=self.tls) as checker:
                # `check`'s reader asked `static_result` of each (only it has a local share)
                checker.vetted = True
                await check_queue(
                    self.queue, checker, concurrency=self.settings.concurrency, on_result=on_result
                )
        finally:
            if self.out:
                self._deliver()
            self.inbox.append(None)
            self.wake.set()


def share_of(concurrency: int, workers: int) -> int:
    """The checks each of `workers` checkers runs at once (its settings' concurrency)."""
    return max(1, concurrency // max(1, workers))


class WorkerPool:
    """`workers` checkers fed by host: submit targets, read result batches.

    With `local` the parent is one of them (`workers - 1` child processes):
    one interpreter and half the pipe traffic less. Use as `async with`:
    leaving it (a finished, failed or cancelled run) kills any worker still
    running.
    """

    worker_args: tuple[str, ...] = WORKER_ARGS  # after the interpreter
    hang_slack = HANG_SLACK

    def __init__(
        self,
        settings: Settings,
        workers: int,
        *,
        local: bool = True,
        prestarted: Sequence[subprocess.Popen[bytes]] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        share = settings.model_copy(update={"concurrency": share_of(settings.concurrency, workers)})
        self.size = workers - 1 if local else workers
        self.longest = longest_check(settings)
        self.settings_frame = frame(share.model_dump_json().encode())
        self.channels: list[_Channel] = []
        self.pending: list[list[tuple[Kind, str]]] = [[] for _ in range(self.size)]
        self.inbox: deque[Batch | None] = deque()
        self.wake = asyncio.Event()
        self.local = _Local(share, self.inbox, self.wake, tls) if local else None
        self.parent_weight = PARENT_WEIGHT if local else 0.0
        self.prestarted = list(prestarted)  # spawned before the run (monitor.check.prestart)

    async def __aenter__(self) -> WorkerPool:
        spare, self.prestarted = self.prestarted[self.size :], self.prestarted[: self.size]
        discard(spare)
        try:
            for _ in range(self.size):
                if self.prestarted:
                    channel = _Channel(self.inbox, self.wake)
                    await AdoptedProcess.adopt(self.prestarted.pop(0), channel)
                    channel.send(self.settings_frame)
                else:
                    channel = await self.start_worker()
                self.channels.append(channel)
        except BaseException:  # cancelled (Ctrl-C) while starting: stop those started
            discard(self.prestarted)
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.local is not None and self.local.task is not None:
            self.local.task.cancel()
            await asyncio.gather(self.local.task, return_exceptions=True)
        for channel in self.channels:
            transport = channel.transport
            if transport is not None and transport.get_returncode() is None:
                transport.kill()
        for channel in self.channels:
            if channel.transport is not None:
                await channel.wait()
                channel.transport.close()

    async def start_worker(self) -> _Channel:
        """A new worker process, given its settings (the daemon replaces a dead one
        with it, in the dead one's place in `channels`)."""
        loop = asyncio.get_running_loop()
        with _stop_signals_held():
            _, channel = await loop.subprocess_exec(
                lambda: _Channel(self.inbox, self.wake),
                sys.executable,
                *self.worker_args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=None,
            )
        channel.send(self.settings_frame)
        return channel

    def submit(self, kind: Kind, url: str) -> None:
        """Queue one target for the worker that owns its host."""
        b = host_owner(url, self.size, parent_weight=self.parent_weight)
        if b < 0:
            assert self.local is not None
            self.local.queue.put_nowait((kind, url))
            return
        part = self.pending[b]
        part.append((kind, url))
        if len(part) >= TARGET_BATCH:
            self.channels[b].send(targets_frame(part), len(part))
            part.clear()

    def close_input(self) -> None:
        """No more targets: send what is queued and let the workers finish."""
        if self.local is not None:
            self.local.close_input()
            self.local.start()
        for channel, part in zip(self.channels, self.pending, strict=True):
            if part:
                channel.send(targets_frame(part), len(part))
                part.clear()
            channel.close_input()

    async def batches(self) -> AsyncIterator[Batch]:
        """Result batches as they arrive, until every worker has finished.

        Raises WorkerFailed when a worker ended badly (its unfinished targets
        are missing), after the others have delivered everything.
        """
        running = len(self.channels) + (self.local is not None)
        hung = asyncio.create_task(self.kill_hung())
        try:
            while running:
                if not self.inbox:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                batch = self.inbox.popleft()
                if batch is None:
                    running -= 1
                else:
                    yield batch
        finally:
            hung.cancel()
        if self.local is not None and self.local.task is not None:
            self.local.task.result()  # a bug in a check is raised, not swallowed
        for channel in self.channels:
            code = await channel.wait()
            pid = channel.transport.get_pid() if channel.transport else None
            why = _failure(channel, code)
            if why is not None:
                raise WorkerFailed(
                    f"a checker worker process (pid {pid}) {why}; "
                    "its unfinished targets are left out of the report"
                )

    async def kill_hung(self) -> None:
        """Kill a worker that holds targets and has answered none of them for longer
        than a check can take (stopped, deadlocked): the run waited for it for ever.
        Its end is a failed worker like any other (`_failure` says why)."""
        loop = asyncio.get_running_loop()
        limit = self.longest + self.hang_slack
        heard = {id(c): (c.received, loop.time()) for c in self.channels}
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            now = loop.time()
            for channel in self.channels:
                received, since = heard.get(id(channel), (channel.received, now))
                if channel.received != received or channel.sent <= channel.received:
                    heard[id(channel)] = (channel.received, now)  # answering, or idle
                elif now - since > limit and channel.transport is not None:
                    if channel.transport.get_returncode() is None:
                        channel.error = (
                            f"answered nothing for {now - since:.0f} s while holding "
                            f"{channel.sent - channel.received} targets, and was killed as hung"
                        )
                        channel.transport.kill()
                    heard[id(channel)] = (channel.received, now)


def _failure(channel: _Channel, code: int | None) -> str | None:
    """What went wrong with a finished worker, or None if it answered every target."""
    if channel.error is not None:
        return channel.error
    if code != 0:
        return f"ended with exit status {code}"
    if channel.torn:
        return f"exited with its last frame of results unfinished ({channel.torn} bytes)"
    if channel.received != channel.sent:  # a clean exit must answer every target it got
        return f"returned {channel.received} results for {channel.sent} targets"
    return None
