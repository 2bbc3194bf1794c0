"""Where `check`'s targets to fetch go: this process alone, or a pool with workers."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING

from monitor.check.processes import AUTO_MIN_TARGETS, WorkerPool, auto_workers
from monitor.config import Settings
from monitor.vocabulary import CheckResult, Kind

if TYPE_CHECKING:
    import ssl


class Fetcher:
    """Where the targets to fetch go: a pool of this process and N-1 workers.

    `--workers N` starts the pool before reading and submits targets as they
    are found; auto (`0`) holds them until AUTO_MIN_TARGETS are found (or the
    corpus ends) and then decides, so a small run never starts a process.
    This process checks its share once the corpus is read (`--workers 1`:
    all of it, with no process started). Workers spawned before the run
    (`prestarted`, monitor.check.prestart) settle the choice at once.
    """

    def __init__(
        self,
        settings: Settings,
        prestarted: Sequence[subprocess.Popen[bytes]] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.prestarted = prestarted
        self.tls = tls
        self.requested = settings.workers
        if self.requested <= 0 and prestarted:
            self.requested = len(prestarted) + 1
        self.held: list[tuple[Kind, str]] = []
        self.pool: WorkerPool | None = None
        self.stack = contextlib.AsyncExitStack()
        self.decided = self.requested > 0

    async def __aenter__(self) -> Fetcher:
        if self.requested > 0:
            await self._start(self.requested)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stack.aclose()

    async def _start(self, workers: int) -> None:
        pool = WorkerPool(self.settings, workers, prestarted=self.prestarted, tls=self.tls)
        self.prestarted = ()
        self.pool = await self.stack.enter_async_context(pool)

    async def add(self, kind: Kind, url: str) -> None:
        if self.pool is not None:
            self.pool.submit(kind, url)
            return
        self.held.append((kind, url))
        if not self.decided and len(self.held) >= AUTO_MIN_TARGETS:
            await self.decide()

    async def decide(self) -> None:
        """Auto: one process or several, by the number of targets so far."""
        if self.decided:
            return
        self.decided = True
        await self._start(auto_workers(self.requested, len(self.held)))
        assert self.pool is not None
        for kind, url in self.held:
            self.pool.submit(kind, url)
        self.held = []

    async def results(self) -> AsyncGenerator[list[tuple[str, CheckResult]], None]:
        """Batches of (url, result) as the pool's checkers deliver them."""
        assert self.pool is not None, "results before the pool is decided"
        async for batch in self.pool.batches():
            yield batch
