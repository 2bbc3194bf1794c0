"""The corpus scan's retry delays and which database errors are worth a retry."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from monitor.daemon.rescan_retry import Backoff, transient


def _sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    err = sqlite3.OperationalError(message)
    err.sqlite_errorcode = code  # type: ignore[attr-defined]
    return err


def test_delays_double_from_one_second_up_to_the_rescan_interval() -> None:
    backoff = Backoff(cap=10.0)
    assert [backoff.delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.delay() == 1.0
    assert Backoff(cap=0.5).delay() == 0.5  # an interval under a second is the cap


def test_a_full_disk_or_a_lock_is_transient_damage_and_bugs_are_not() -> None:
    full = _sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full")
    locked = _sqlite_error(sqlite3.SQLITE_BUSY, "database is locked")
    corrupt = _sqlite_error(sqlite3.SQLITE_CORRUPT, "database disk image is malformed")
    assert transient(OperationalError("INSERT", None, full))
    assert transient(OperationalError("INSERT", None, locked))
    assert not transient(OperationalError("INSERT", None, corrupt))
    assert not transient(IntegrityError("INSERT", None, Exception("UNIQUE constraint failed")))


async def test_a_scan_that_works_ends_a_waiting_retry_unless_it_owes_a_forced_one() -> None:
    """A SIGHUP's forced scan failed, then a second SIGHUP's worked: the retry
    still came and re-read every file once more."""
    import asyncio

    from monitor.daemon.rescan_retry import ScanRetry

    scans: list[bool] = []

    async def rescan(force: bool) -> None:
        scans.append(force)

    retry = ScanRetry(rescan, asyncio.Event(), lambda: 3600.0)
    assert retry.failed(force=True) == 1.0
    retry.succeeded(force=True)  # the forced scan it owed was done
    assert retry._pending is None
    assert retry.failed(force=False) == 1.0
    retry.succeeded(force=False)  # a plain scan worked: nothing owed
    assert retry._pending is None
    retry.failed(force=True)
    retry.succeeded(force=False)  # a plain one is not the forced one owed
    assert retry._pending is not None
    await retry.close()
    assert scans == [] and retry.tries == 0


def test_a_connection_pool_run_dry_is_transient() -> None:
    """Every pooled connection busy for the pool's timeout (status API reads, the
    writer, maintenance): it passes, but it is no DB-API error and was lasting."""
    assert transient(PoolTimeout("QueuePool limit of size 4 overflow 4 reached"))
