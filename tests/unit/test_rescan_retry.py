"""The corpus scan's retry delays and which database errors are worth a retry."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

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
