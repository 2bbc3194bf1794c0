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
their checkers learn (`Checker.hosts`), which live in-process. A worker that
dies (or hangs, and is killed) ends the whole pool: every check in flight
fails and is tried once more with the new pool (dispatch.py), and the
Retry-After backoffs the processes had learned are lost with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from sqlalchemy.exc import SQLAlchemyError

from monitor.check.pipe import targets_frame
from monitor.check.pool import SupportsCheck
from monitor.check.prestart import AUTO_MAX_WORKERS, BYTES_PER_TARGET, WORKER_ARGS, corpus_bytes
from monitor.check.processes import HANG_SLACK, WorkerPool
from monitor.check.worker import PROBE_DB_ARG, TEXT_HASH_ARG
from monitor.config import Settings
from monitor.storage.corpus import CorpusStore
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

# Below this many active targets the daemon checks in its own process: a
# checker process costs an interpreter (~50 MB, ~0.5 CPU-s) and every target
# crosses a pipe twice. Measured with bench/daemon_vs_check.py (bench/README.md).
AUTO_MIN_TARGETS = 5_000
RESTART_DELAY = 1.0  # after a checker process died, before the next is started


class CheckerGone(RuntimeError):
    """The checker process holding this check ended before answering it."""


def processes_for(settings: Settings, active_targets: int, dialect: str) -> int:
    """Checker processes for the daemon: 0 checks in the daemon's own process.

    `workers` (config file or ARTICLE_MONITOR_WORKERS) 1 means in-process, N
    means N processes; 0 (auto) means one per core but the daemon's own,
    once there are AUTO_MIN_TARGETS active targets. Never on PostgreSQL (see
    the module's docstring).
    """
    if dialect != "sqlite" or settings.workers == 1:
        return 0
    if settings.workers > 1:
        return settings.workers
    cpus = os.cpu_count() or 1
    if active_targets < AUTO_MIN_TARGETS or cpus < 2:
        return 0
    return max(1, min(cpus - 1, AUTO_MAX_WORKERS))


class ProcessChecker:
    """`check(url, kind)` answered by checker processes (monitor.check.worker)."""

    hosts = None  # per-host state lives in the checker processes
    hang_slack = HANG_SLACK

    def __init__(self, settings: Settings, processes: int, *, probe_db: str | None = None) -> None:
        self.settings = settings
        self.processes = processes
        self.probe_db = probe_db  # the SQLite database where probe answers are kept
        self._pool: WorkerPool | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, deque[asyncio.Future[CheckResult]]] = {}
        self._flush_pending = False
        self._starting: asyncio.Lock | None = None
        self._closing = False

    async def __aenter__(self) -> ProcessChecker:
        self._starting = asyncio.Lock()
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        await self._stop()

    async def _start(self) -> None:
        pool = WorkerPool(self.settings, self.processes, local=False)
        pool.hang_slack = self.hang_slack  # a hung process is killed by the pool's watch
        if self.settings.text_drift:  # as the service asks of its in-process Checker
            pool.worker_args = (*WORKER_ARGS, TEXT_HASH_ARG)
        if self.probe_db is not None and self.settings.soft_404_probe:
            pool.worker_args = (*pool.worker_args, PROBE_DB_ARG + self.probe_db)
        # a SIGHUP (reload) is the daemon's: its checker processes never see it
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            await pool.__aenter__()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self._pool = pool
        self._reader = asyncio.create_task(self._read(pool), name="checker-results")
        log.info("checking in %d checker processes", self.processes)

    async def _stop(self) -> None:
        pool, reader = self._pool, self._reader
        self._pool = self._reader = None
        if pool is not None:
            await pool.__aexit__()
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        self._fail_all("the checker processes were stopped")

    async def check(self, url: str, kind: Kind) -> CheckResult:
        if self._pool is None:
            await self._restart()
        future = self.submit(url, kind)
        if future is None:
            raise CheckerGone("no checker process is running")
        return await future

    def submit(self, url: str, kind: Kind) -> asyncio.Future[CheckResult] | None:
        """The check's future, without a coroutine around it (the dispatcher's fast
        path: a task per check was ~5% of the daemon's CPU); None while no checker
        process runs (`check` starts one). Cancelling the future drops the check's
        result; a process that dies fails it with CheckerGone."""
        pool = self._pool
        if pool is None:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CheckResult] = loop.create_future()
        waiting = self._waiting.get(url)
        if waiting is None:
            self._waiting[url] = deque((future,))
        else:
            waiting.append(future)
        pool.submit(kind, url)
        if not self._flush_pending:  # one write per worker per turn of the loop
            self._flush_pending = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_pending = False
        pool = self._pool
        if pool is None:
            return
        for channel, part in zip(pool.channels, pool.pending, strict=True):
            if part:
                channel.send(targets_frame(part), len(part))
                part.clear()

    async def _read(self, pool: WorkerPool) -> None:
        """Hand each result to its check; a worker that ends stops them all."""
        watch = [asyncio.create_task(c.exited.wait()) for c in pool.channels]
        results = asyncio.create_task(self._deliver(pool.batches()))
        try:
            await asyncio.wait([*watch, results], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*watch, results]:
                task.cancel()
            await asyncio.gather(*watch, results, return_exceptions=True)
        if self._closing or self._pool is not pool:
            return
        codes = [c.transport.get_returncode() if c.transport else None for c in pool.channels]
        why = "".join(f": {c.error}" for c in pool.channels if c.error)[:500]
        log.error("a checker process ended (exit statuses %s%s); starting another", codes, why)
        self._pool = None
        self._reader = None
        with contextlib.suppress(Exception):
            await pool.__aexit__()
        self._fail_all("a checker process ended before answering")

    async def _deliver(self, batches: AsyncIterator[list[tuple[str, CheckResult]]]) -> None:
        async for batch in batches:
            for url, result in batch:
                waiting = self._waiting.get(url)
                if waiting:
                    # the oldest check of this URL answered: one cancelled (its lease
                    # ran out, the target was claimed again) drops its result rather
                    # than hand it to the new check, whose own result came unclaimed
                    future = waiting.popleft()
                    if not future.done():
                        future.set_result(result)
                if not waiting:
                    self._waiting.pop(url, None)

    def _fail_all(self, why: str) -> None:
        waiting, self._waiting = self._waiting, {}
        for futures in waiting.values():
            for future in futures:
                if not future.done():
                    future.set_exception(CheckerGone(why))

    async def _restart(self) -> None:
        assert self._starting is not None
        async with self._starting:
            if self._pool is not None or self._closing:
                return
            await asyncio.sleep(RESTART_DELAY)
            await self._start()


async def checker_for(
    settings: Settings, repo: CorpusStore
) -> AbstractAsyncContextManager[SupportsCheck]:
    """The daemon's checker: in-process, or checker processes for many targets."""
    enough = AUTO_MIN_TARGETS * BYTES_PER_TARGET
    try:
        active = await asyncio.to_thread(repo.active_targets)
    except SQLAlchemyError:  # only a hint: the claims will say what is wrong
        active = 0
    if active < AUTO_MIN_TARGETS:  # a corpus not stored yet (it is, while checks run)
        size = await asyncio.to_thread(corpus_bytes, settings.paths, enough)
        active = max(active, size // BYTES_PER_TARGET)
    processes = processes_for(settings, active, repo.dialect)
    if processes:
        # on SQLite alone (processes_for): its file, no credential, on the command line
        return ProcessChecker(settings, processes, probe_db=settings.database_url())
    from monitor.http import Checker

    return Checker(settings)
