"""The one writer: finished checks are queued and committed in batches.

Batching turns thousands of small transactions a minute into a few (SQLite
has one writer at a time). A commit that fails (database locked beyond the
busy timeout, disk full, server gone) is logged and retried with backoff;
the batch is kept, the daemon stays up, and `healthy`/`error` tell /readyz.
Results not yet committed when the process is killed are lost, and so are
only those: their targets' leases run out and they are checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from monitor.daemon.outcome import Decision
from monitor.error_text import stored_error
from monitor.observe.logs import EVERY
from monitor.storage.opening import first_line
from monitor.storage.repository import CheckRecord, Claimed
from monitor.storage.tables import OUTCOME_CODES
from monitor.vocabulary import CheckResult

log = logging.getLogger(__name__)

Commit = Callable[[Sequence[CheckRecord]], Awaitable[None]]
OnError = Callable[[SQLAlchemyError], str]  # sees every failed commit; returns its summary


class ResultWriter:
    def __init__(
        self,
        commit: Commit,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.25,
        retry_max: float = 5.0,
        on_error: OnError | None = None,
    ) -> None:
        self._commit = commit
        self._on_error = on_error or first_line
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_max = retry_max
        # finished checks not yet taken into a batch: a list and two events, not an
        # asyncio.Queue, whose get() under wait_for cost a task and a timer per result
        self._incoming: list[CheckRecord] = []
        self._arrived = asyncio.Event()  # something is in `_incoming`
        self._full = asyncio.Event()  # a whole batch is in `_incoming`
        self._pending: list[CheckRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.healthy = True
        self.error: str | None = None
        self.committed = 0
        self.dropped = 0  # records the database could not take (see `_isolate`)

    @property
    def backlog(self) -> int:
        return len(self._incoming) + len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="result-writer")

    def put(self, record: CheckRecord) -> None:
        self._idle.clear()
        self._incoming.append(record)
        self._arrived.set()
        if len(self._incoming) >= self.batch_size:
            self._full.set()

    async def _run(self) -> None:
        """A batch is committed when it is full, or `flush_interval` after its
        first record came (a batch that failed is retried before the next)."""
        while True:
            if not self._pending:
                await self._arrived.wait()
                if len(self._incoming) < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.flush_interval):
                            await self._full.wait()
                self._pending = self._incoming[: self.batch_size]
                del self._incoming[: self.batch_size]
                if not self._incoming:
                    self._arrived.clear()
                if len(self._incoming) < self.batch_size:
                    self._full.clear()
            await self._flush_pending()

    async def _flush_pending(self) -> None:
        delay = 0.2
        while self._pending:
            try:
                await self._commit(self._pending)
            except SQLAlchemyError as exc:
                self.healthy = False
                self.error = self._on_error(exc)
                log.error(
                    "cannot write %d results: %s; retrying in %.1fs",
                    len(self._pending),
                    self.error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            except Exception:  # not the database's: a record it cannot take
                await self._isolate()
                if self._pending:  # the database failed meanwhile: wait as for its errors
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
                continue
            if not self.healthy:
                log.info("database writes work again", extra=EVERY)
            self.healthy, self.error = True, None
            self.committed += len(self._pending)
            self._pending = []
        if not self._incoming:
            self._idle.set()

    async def _isolate(self) -> None:
        """Commit the batch record by record and drop those that raise something
        other than a database error (a value out of the column's range, a bug):
        retried whole, the batch failed the same way each time, and raised, it
        ended the writer with nothing recorded again. A dropped record's target
        is checked again once its lease runs out."""
        kept: list[CheckRecord] = []
        for record in self._pending:
            try:
                await self._commit([record])
            except SQLAlchemyError as exc:
                kept.append(record)  # the database's own trouble: retried as usual
                self.healthy = False
                self.error = self._on_error(exc)
            except Exception:
                self.dropped += 1
                log.exception(
                    "a result cannot be recorded; dropped (its target is checked again)",
                    extra={"ctx": {"target": record.target_id}},
                )
            else:
                self.committed += 1
        self._pending = kept
        if not kept and not self.healthy:
            log.info("database writes work again", extra=EVERY)
            self.healthy, self.error = True, None

    async def drain(self) -> None:
        """Wait until everything queued is committed (bound it with asyncio.timeout)."""
        while self._incoming or self._pending:
            await self._idle.wait()
            if self._incoming or self._pending:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def latency_ms(result: CheckResult) -> int | None:
    return None if result.latency_ms is None else round(result.latency_ms)


def record_of(
    claim: Claimed, result: CheckResult, decision: Decision, now: int, offset_ms: int = 0
) -> CheckRecord:
    """The row a decided check becomes; due again `decision.delay` after `now` (ms).
    `offset_ms`: the cluster's clock less this machine's, which timed the check: a
    member a year behind stamped its results a year back, and the next maintenance
    (on the database's clock) deleted them unrolled."""
    return CheckRecord(
        target_id=claim.id,
        lease=claim.lease,
        checked_at=int(result.checked_at.timestamp() * 1000) + offset_ms,
        outcome=OUTCOME_CODES[result.outcome],
        outcome_name=result.outcome.value,
        http_status=result.http_status,
        latency_ms=latency_ms(result),
        problems=decision.problems,
        before=decision.step.before,
        after=decision.step.after,
        next_due=decision.next_due_ms(now),
        page=decision.page,
        error=stored_error(result.error),
        also=claim.also,
    )
