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

Beside this pool: check/host_share.py (which checker owns a host),
check/channel.py (one worker's pipes), check/local_share.py (the parent's own
share, checked on its event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from monitor.check.channel import Batch, Channel
from monitor.check.host_share import PARENT_WEIGHT, host_owner
from monitor.check.local_share import LocalShare
from monitor.check.pipe import frame, targets_frame
from monitor.check.prestart import (
    AUTO_MAX_WORKERS,
    AUTO_MIN_TARGETS,
    CHECK_WORKER_ARGS,
    PARENT_STOPS,
    AdoptedProcess,
    auto_workers,
    discard,
    worker_environment,
)
from monitor.check.prestart import stop_signals_held as _stop_signals_held
from monitor.config import Settings
from monitor.install import BROKEN_INSTALL, WORKER_BROKEN_INSTALL, InstallBroken
from monitor.request_headers import revealed_json
from monitor.retry import tries_seconds
from monitor.vocabulary import Kind

if TYPE_CHECKING:
    import ssl


class WorkerFailed(Exception):
    """A checker process died: the run cannot be complete."""


__all__ = [
    "AUTO_MAX_WORKERS",
    "AUTO_MIN_TARGETS",
    "Batch",
    "WorkerFailed",
    "WorkerPool",
    "auto_workers",
    "host_owner",
]
TARGET_BATCH = 256  # targets per frame to a worker
HANG_SLACK = 10.0  # seconds beyond the longest check before a silent worker counts as hung


def longest_check(s: Settings) -> float:
    """The longest one check can take: its tries' timeouts and the waits between them,
    twice over for the soft-404 probe's own request."""
    return 2 * tries_seconds(s)


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

    worker_args: tuple[str, ...] = CHECK_WORKER_ARGS  # after the interpreter (`check`'s)
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
        # the header rules' values travel the pipe (never argv or the environment)
        self.settings_frame = frame(revealed_json(share).encode())
        self.channels: list[Channel] = []
        self.pending: list[list[tuple[Kind, str]]] = [[] for _ in range(self.size)]
        self.inbox: deque[Batch | None] = deque()
        self.wake = asyncio.Event()
        self.local = LocalShare(share, self.inbox, self.wake, tls) if local else None
        self.parent_weight = PARENT_WEIGHT if local else 0.0
        self.prestarted = list(prestarted)  # spawned before the run (monitor.check.prestart)

    async def __aenter__(self) -> WorkerPool:
        spare, self.prestarted = self.prestarted[self.size :], self.prestarted[: self.size]
        discard(spare)
        try:
            for _ in range(self.size):
                if self.prestarted:
                    channel = Channel(self.inbox, self.wake)
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

    def signal_stop(self) -> None:
        """Tell every live worker the run stops (PARENT_STOPS): from then on it
        starts none of its queued requests. A signal, not a frame: a stop to the
        daemon alone (a container's PID 1) reached the processes only through
        their pipes, and meanwhile they started a queued request for each check
        that ended (~200 at concurrency 1024)."""
        for channel in self.channels:
            transport = channel.transport
            if transport is not None and transport.get_returncode() is None:
                with contextlib.suppress(ProcessLookupError):
                    transport.send_signal(PARENT_STOPS)

    async def start_worker(self) -> Channel:
        """A new worker process, given its settings (the daemon replaces a dead one
        with it, in the dead one's place in `channels`)."""
        loop = asyncio.get_running_loop()
        with _stop_signals_held():
            _, channel = await loop.subprocess_exec(
                lambda: Channel(self.inbox, self.wake),
                sys.executable,
                *self.worker_args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=None,
                env=worker_environment(),
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
            if code == WORKER_BROKEN_INSTALL and channel.error is None:
                # a package failed to import in one of its checks (its line is above):
                # the install's failure, not the targets' (exit 2, as in this process)
                raise InstallBroken(
                    f"a checker process (pid {pid}) cannot import a package (said above): "
                    f"{BROKEN_INSTALL}"
                )
            why = _failure(channel, code)
            if why is not None:
                raise WorkerFailed(
                    f"a checker worker process (pid {pid}) {why}; "
                    "its unfinished targets are left out of the report"
                )

    async def kill_hung(self) -> None:
        """Kill a worker that holds targets and has answered none of them for longer
        than a check can take (stopped, deadlocked): the run waited for it for ever.
        Its end is a failed worker like any other (`_failure` says why). The slack
        is read at each look, so a change applies while the watch runs."""
        loop = asyncio.get_running_loop()
        heard = {id(c): (c.received, loop.time()) for c in self.channels}
        while True:
            await asyncio.sleep(min(1.0, (self.longest + self.hang_slack) / 4))
            limit = self.longest + self.hang_slack
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


def _failure(channel: Channel, code: int | None) -> str | None:
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
