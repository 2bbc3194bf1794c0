"""Checking with several processes, so a big run can use every core.

One asyncio process saturates one core at a few thousand checks per second
(parsing heads and image headers is CPU work). `check --workers N` splits the
targets by host across N `monitor.worker` processes, so each host's
politeness (its concurrency limit, interval and backoff) still lives in one
process, and merges their results as they arrive.

The pool is started before the corpus is read, so the workers' interpreter
start and imports overlap the parent's loading, and targets are submitted
as they are found, so checking starts while the corpus is still loading.
Both directions batch: many targets or results per line, one write per
line (monitor.wire).
"""

from __future__ import annotations

import asyncio
import os
import sys
import zlib
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from monitor.config import Settings
from monitor.model import CheckResult, Kind
from monitor.wire import results_from_line, targets_line


class WorkerFailed(Exception):
    """A checker process died: the run cannot be complete."""


AUTO_MIN_TARGETS = 2000  # below this, starting processes costs more than it saves
AUTO_MAX_WORKERS = 4
TARGET_BATCH = 256  # targets per line to a worker


def auto_workers(requested: int, targets: int, cpus: int | None = None) -> int:
    """`--workers 0` (auto): one process per core for big runs, else one."""
    if requested > 0:
        return requested
    cpus = cpus or os.cpu_count() or 1
    if targets < AUTO_MIN_TARGETS:
        return 1
    return max(1, min(cpus, AUTO_MAX_WORKERS))


def host_bucket(url: str, buckets: int) -> int:
    """Stable host → worker assignment (crc32: the same in every process)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    return zlib.crc32(host.encode("utf-8", "surrogatepass")) % buckets


Batch = list[tuple[str, CheckResult]]


class _Channel(asyncio.SubprocessProtocol):
    """One worker's pipes: splits its stdout into lines and decodes them."""

    def __init__(self, inbox: deque[Batch | None], wake: asyncio.Event) -> None:
        self.inbox = inbox
        self.wake = wake
        self.tail = b""
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.exited = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self.stdin = stdin

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        for line in lines:
            self.inbox.append(results_from_line(line))
        self.wake.set()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 0:
            self.stdin = None  # the worker is gone: nothing more to send it
        elif fd == 1:
            self.inbox.append(None)  # end of this worker's results
            self.wake.set()

    def process_exited(self) -> None:
        self.exited.set()

    def send(self, data: bytes) -> None:
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(data)

    async def wait(self) -> int | None:
        """The exit status, once the process has ended."""
        await self.exited.wait()
        return self.transport.get_returncode() if self.transport else None

    def close_input(self) -> None:
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()


class WorkerPool:
    """`workers` checker processes fed by host: submit targets, read batches.

    Use as `async with`: leaving it (a finished, failed or cancelled run)
    kills any worker still running.
    """

    def __init__(self, settings: Settings, workers: int) -> None:
        self.size = workers
        share = max(1, settings.concurrency // max(1, workers))
        self.settings_line = (
            settings.model_copy(update={"concurrency": share}).model_dump_json() + "\n"
        ).encode()
        self.channels: list[_Channel] = []
        self.pending: list[list[tuple[Kind, str]]] = [[] for _ in range(workers)]
        self.inbox: deque[Batch | None] = deque()
        self.wake = asyncio.Event()
        self.submitted = 0

    async def __aenter__(self) -> WorkerPool:
        loop = asyncio.get_running_loop()
        for _ in range(self.size):
            _, channel = await loop.subprocess_exec(
                lambda: _Channel(self.inbox, self.wake),
                sys.executable,
                "-m",
                "monitor.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=None,
            )
            channel.send(self.settings_line)
            self.channels.append(channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for channel in self.channels:
            transport = channel.transport
            if transport is not None and transport.get_returncode() is None:
                transport.kill()
        for channel in self.channels:
            if channel.transport is not None:
                await channel.wait()
                channel.transport.close()

    def submit(self, kind: Kind, url: str) -> None:
        """Queue one target for the worker that owns its host."""
        b = host_bucket(url, self.size)
        part = self.pending[b]
        part.append((kind, url))
        self.submitted += 1
        if len(part) >= TARGET_BATCH:
            self.channels[b].send(targets_line(part))
            part.clear()

    def close_input(self) -> None:
        """No more targets: send what is queued and let the workers finish."""
        for channel, part in zip(self.channels, self.pending, strict=True):
            if part:
                channel.send(targets_line(part))
                part.clear()
            channel.close_input()

    async def batches(self) -> AsyncIterator[Batch]:
        """Result batches as they arrive, until every worker has finished.

        Raises WorkerFailed when a worker ended badly (its unfinished targets
        are missing), after the others have delivered everything.
        """
        running = len(self.channels)
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
        for channel in self.channels:
            code = await channel.wait()
            if code != 0:
                pid = channel.transport.get_pid() if channel.transport else None
                raise WorkerFailed(
                    f"a checker worker process (pid {pid}) ended with exit status "
                    f"{code}; its unfinished targets are left out of the report"
                )
