"""The status API's and pages' one way to the database: reads on a few threads
at once (READ_THREADS), so a flood of status requests neither starves the daemon's
own database work (the writer's thread, the jobs') nor runs unbounded. The
daemon's stop waits for a read under way before it disposes the engine
(tracked_threads.py): the pool they ran on was shut down without waiting, and
a read's connection was left open to the garbage collector."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from monitor.daemon.tracked_threads import TrackedThreads
from monitor.observe.status.document import (
    article_document,
    status_document,
    target_detail,
    target_item,
)
from monitor.observe.status.filters import encode_cursor, filters_from
from monitor.storage.availability import availability_document
from monitor.storage.listing import TargetPage, TargetQuery
from monitor.storage.store import now_ms

if TYPE_CHECKING:
    from monitor.availability import Share
    from monitor.storage.repository import Repository
    from monitor.storage.values import Snapshot

T = TypeVar("T")
READ_THREADS = 2
# reads admitted at once (running or queued for the threads); beyond, a 503 at once
MAX_PENDING = 16
log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The database could not be read: answered 503, never as an empty list."""


class Busy(Exception):
    """Too many status reads already waiting: answered 503 with Retry-After at once.

    A request waiting for the read threads keeps its connection busy, and the
    endpoints' guard refuses new connections when all are busy: without this
    bound a flood of status requests locked /healthz and /metrics out."""


class StatusSource:
    """JSON-ready documents for the API and the pages."""

    def __init__(
        self,
        repo: Repository,
        snapshot: Callable[[], Snapshot | None] | None = None,
        threads: int = READ_THREADS,
        max_pending: int = MAX_PENDING,
        tracked: TrackedThreads | None = None,
    ) -> None:
        self.repo = repo
        # the metrics' last background snapshot (DaemonMetrics.state.snapshot), if any
        self._snapshot = snapshot or (lambda: None)
        # reads at once: daemon threads, not a pool (the interpreter's exit joins a
        # pool's threads, without a bound: a read stuck on a dead database held it)
        self._slots = asyncio.Semaphore(threads)
        # the daemon's: its stop waits for the reads under way (a request cut short too)
        self._tracked = tracked if tracked is not None else TrackedThreads()
        self.max_pending = max_pending
        self.pending = 0  # reads admitted and not finished (one event loop: no lock)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self.pending >= self.max_pending:
            raise Busy
        self.pending += 1
        try:
            return await self._tracked.run(fn, name="status-read", slots=self._slots)
        except SQLAlchemyError as exc:
            # the class only: a driver's message may name paths or hosts
            log.warning("status page: the database could not be read (%s)", type(exc).__name__)
            raise Unavailable from None
        finally:
            self.pending -= 1

    async def status(self, limit: int = 20) -> dict[str, Any]:
        return await self._run(lambda: status_document(self.repo, limit, self._snapshot()))

    async def targets(self, query: TargetQuery, availability: bool = False) -> dict[str, Any]:
        """A page of targets; with `availability`, each item's `availability_24h` too
        (one more read, of the page's results over 24 h)."""
        page, shares = await self._run(lambda: self._targets(query, availability))
        cursor = None if page.last_id is None else encode_cursor(page.last_id, filters_from(query))
        items = [target_item(r) for r in page.items]
        if shares is not None:
            for item in items:
                item["availability_24h"] = shares[item["id"]].document()
        return {"items": items, "next_cursor": cursor}

    def _targets(
        self, query: TargetQuery, availability: bool
    ) -> tuple[TargetPage, dict[int, Share] | None]:
        page = self.repo.list_targets(query)
        if not availability:
            return page, None
        return page, self.repo.availability_24h([r["id"] for r in page.items], now_ms())

    async def count(self, query: TargetQuery) -> int | None:
        """How many match in all, for the list page: from the snapshot's counts by
        kind and state when those are the only filters, else a capped count."""
        if all(getattr(query, n) is None for n in ("provider", "outcome", "problem", "q")):
            snap = await self._run(self._snapshot)
            if snap is not None:
                return sum(
                    n
                    for (kind, state), n in snap.targets.items()
                    if query.kind in (None, kind) and query.state in (None, state)
                )
        return await self._run(lambda: self.repo.count_targets(query))

    async def target(self, target_id: int) -> dict[str, Any] | None:
        return await self._run(lambda: self._target(target_id))

    def _target(self, target_id: int) -> dict[str, Any] | None:
        """One target's document, with its availability (two more range reads: not
        in the lists, where it would cost them per item)."""
        row = self.repo.target(target_id)
        if row is None:
            return None
        shares = self.repo.availability(target_id, now_ms())
        return {**target_detail(row), "availability": availability_document(shares)}

    async def article(self, article_id: str) -> dict[str, Any] | None:
        art = await self._run(lambda: self.repo.article(article_id))
        return None if art is None else article_document(art)
