"""Checking with several processes, so a big run can use every core.

One asyncio process saturates one core at a few thousand checks per second
(parsing heads and image headers is CPU work). `check --workers N` splits the
targets by host across N `monitor.worker` processes, so each host's
politeness (its concurrency limit, interval and backoff) still lives in one
process, and merges their results as they arrive.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import zlib
from collections.abc import AsyncGenerator, Sequence
from urllib.parse import urlsplit

from monitor.config import Settings
from monitor.model import CheckResult
from monitor.targets import Target
from monitor.wire import result_from_line


class WorkerFailed(Exception):
    """A checker process died: the run cannot be complete."""


AUTO_MIN_TARGETS = 2000  # below this, starting processes costs more than it saves
AUTO_MAX_WORKERS = 4


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


def partition(targets: Sequence[Target], buckets: int) -> list[list[int]]:
    parts: list[list[int]] = [[] for _ in range(buckets)]
    for i, target in enumerate(targets):
        parts[host_bucket(target.url, buckets)].append(i)
    return parts


async def check_parallel(
    targets: Sequence[Target], settings: Settings, workers: int
) -> AsyncGenerator[tuple[Target, CheckResult], None]:
    """Yield (target, result) from `workers` processes, in completion order.

    Closing the generator (a cancelled run) terminates the workers at once.
    """
    parts = [p for p in partition(targets, workers) if p]
    share = max(1, settings.concurrency // max(1, len(parts)))
    payload = settings.model_copy(update={"concurrency": share}).model_dump_json() + "\n"
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4096)
    procs: list[asyncio.subprocess.Process] = []
    tasks: list[asyncio.Task[None]] = []

    async def feed(proc: asyncio.subprocess.Process, part: list[int]) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload.encode())
            for n, i in enumerate(part, 1):
                t = targets[i]
                proc.stdin.write((json.dumps([i, t.kind.value, t.url]) + "\n").encode())
                if n % 512 == 0:
                    await proc.stdin.drain()
            await proc.stdin.drain()
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker died; its exit code is reported below

    async def pump(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            async for line in proc.stdout:
                await queue.put(line)
        finally:
            await queue.put(None)

    try:
        for part in parts:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "monitor.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 20,
            )
            procs.append(proc)
            tasks.append(asyncio.create_task(feed(proc, part)))
            tasks.append(asyncio.create_task(pump(proc)))
        running = len(procs)
        while running:
            line = await queue.get()
            if line is None:
                running -= 1
                continue
            index, _, body = line.partition(b"\t")
            yield targets[int(index)], result_from_line(body)
        for proc in procs:
            if await proc.wait() != 0:
                raise WorkerFailed(
                    f"a checker worker process (pid {proc.pid}) ended with exit status "
                    f"{proc.returncode}; its unfinished targets are left out of the report"
                )
    finally:
        for task in tasks:
            task.cancel()
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
        for proc in procs:
            await proc.wait()
