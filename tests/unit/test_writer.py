"""The result writer's batches: full ones at once, the rest after the flush
interval, in order, none lost, a failed commit retried whole (issue 16 moved
it off asyncio.Queue: these hold the batching it had)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import OperationalError

from monitor.daemon.state import State, TargetState
from monitor.daemon.writer import ResultWriter
from monitor.storage.repository import CheckRecord

UP = TargetState(State.UP, 0, 1)


def rec(n: int) -> CheckRecord:
    return CheckRecord(
        target_id=n,
        lease=1,
        checked_at=n,
        outcome=0,
        outcome_name="ok",
        http_status=200,
        latency_ms=1,
        problems=(),
        before=UP,
        after=UP,
        next_due=n + 1,
    )


class Commits:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[int]] = []
        self.failures = failures
        self.tries = 0

    async def __call__(self, records: Sequence[CheckRecord]) -> None:
        self.tries += 1
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        self.batches.append([r.target_id for r in records])


async def run(writer: ResultWriter, puts: list[int], **_: Any) -> None:
    writer.start()
    try:
        for n in puts:
            writer.put(rec(n))
        async with asyncio.timeout(30):
            await writer.drain()
    finally:
        await writer.stop()


def test_full_batches_go_at_once_in_order_and_the_rest_after() -> None:
    commits = Commits()
    # a flush interval no test waits for: full batches must not wait for it
    writer = ResultWriter(commits, batch_size=500, flush_interval=0.05)
    asyncio.run(run(writer, list(range(1201))))
    assert [len(b) for b in commits.batches] == [500, 500, 201]
    assert [n for b in commits.batches for n in b] == list(range(1201))
    assert writer.committed == 1201 and writer.backlog == 0


def test_a_full_batch_does_not_wait_for_the_flush_interval() -> None:
    commits = Commits()
    writer = ResultWriter(commits, batch_size=3, flush_interval=3600)

    async def go() -> None:
        writer.start()
        try:
            for n in range(6):
                writer.put(rec(n))
            async with asyncio.timeout(30):  # an hour's flush interval would trip this
                await writer.drain()
        finally:
            await writer.stop()

    asyncio.run(go())
    assert commits.batches == [[0, 1, 2], [3, 4, 5]]


def retrying_writer(commits: Commits, errors: list[str]) -> ResultWriter:
    """Batches of 4, retried at once; each database error noted in `errors`."""
    return ResultWriter(
        commits,
        batch_size=4,
        flush_interval=0.01,
        retry_max=0.01,
        on_error=lambda exc: errors.append("x") or "locked",
    )


def test_a_failed_commit_is_retried_with_the_same_batch() -> None:
    commits = Commits(failures=2)
    errors: list[str] = []
    writer = retrying_writer(commits, errors)
    asyncio.run(run(writer, list(range(4))))
    assert commits.batches == [[0, 1, 2, 3]]
    assert commits.tries == 3 and len(errors) == 2
    assert writer.healthy and writer.error is None


class Poisoned(Commits):
    """A database that cannot take record 2: not a database error (a value past
    SQLite's INTEGER raises OverflowError, a garbled one TypeError)."""

    async def __call__(self, records: Sequence[CheckRecord]) -> None:
        self.tries += 1
        if any(r.target_id == 2 for r in records):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        self.batches.append([r.target_id for r in records])


def test_a_record_the_database_cannot_take_is_dropped_and_the_writer_goes_on() -> None:
    """It raised out of the writer's task: the writer ended, and no result was
    recorded again (the daemon checked on, its backlog growing)."""
    commits = Poisoned()
    writer = ResultWriter(commits, batch_size=4, flush_interval=0.01, retry_max=0.01)

    async def go() -> None:
        writer.start()
        try:
            for n in range(4):
                writer.put(rec(n))
            async with asyncio.timeout(30):
                await writer.drain()
            for n in range(4, 8):  # and later results are recorded too
                writer.put(rec(n))
            async with asyncio.timeout(30):
                await writer.drain()
        finally:
            await writer.stop()

    asyncio.run(go())
    assert sorted(n for b in commits.batches for n in b) == [0, 1, 3, 4, 5, 6, 7]
    assert writer.dropped == 1 and writer.committed == 7 and writer.backlog == 0


class PoisonedAndLocked(Poisoned):
    """Record 2 cannot be taken, and the database is locked for a while too."""

    def __init__(self, locked: int) -> None:
        super().__init__()
        self.locked = locked

    async def __call__(self, records: Sequence[CheckRecord]) -> None:
        if len(records) == 1 and self.locked:
            self.locked -= 1
            self.tries += 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        await super().__call__(records)


def test_a_database_error_while_a_bad_record_is_isolated_is_reported_and_retried() -> None:
    commits = PoisonedAndLocked(locked=3)
    errors: list[str] = []
    writer = retrying_writer(commits, errors)
    asyncio.run(run(writer, list(range(4))))
    assert sorted(n for b in commits.batches for n in b) == [0, 1, 3]
    assert writer.dropped == 1 and len(errors) == 3  # readiness saw the locked database
    assert writer.healthy and writer.error is None
