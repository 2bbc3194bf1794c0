"""Which database errors at a start a later try may mend (`run` exits 75, which
the systemd unit restarts) and which it never will (exit 2, not restarted)."""

from __future__ import annotations

import pytest

from monitor.storage.opening import DatabaseUnreachable, is_unreachable, unusable

PG = "postgresql+psycopg://monitor@db.example:5432/monitor"


class OperationalError(Exception):
    """Named as psycopg's is: the class `is_unreachable` knows by its name."""


def failed(detail: str) -> OperationalError:
    return OperationalError(f'connection failed: connection to server at "10.0.0.5", {detail}')


@pytest.mark.parametrize(
    "detail",
    [
        "port 5432 failed: Connection refused",
        "port 5432 failed: timeout expired",
        "port 5432 failed: FATAL:  the database system is starting up",
        "port 5432 failed: FATAL:  the database system is shutting down",
        "port 5432 failed: FATAL:  sorry, too many clients already",
        "port 5432 failed: FATAL:  remaining connection slots are reserved for roles with"
        " the SUPERUSER attribute",
    ],
)
def test_a_server_not_reachable_yet(detail: str) -> None:
    assert is_unreachable(failed(detail), PG)
    assert isinstance(unusable(failed(detail), PG), DatabaseUnreachable)


@pytest.mark.parametrize(
    "detail",
    [
        'port 5432 failed: FATAL:  password authentication failed for user "monitor"',
        'port 5432 failed: FATAL:  database "monitor" does not exist',
        'port 5432 failed: FATAL:  role "monitor" does not exist',
        "port 5432 failed: FATAL:  no pg_hba.conf entry for host",
    ],
)
def test_a_server_that_refuses_the_monitor(detail: str) -> None:
    assert not is_unreachable(failed(detail), PG)
    assert not isinstance(unusable(failed(detail), PG), DatabaseUnreachable)


def test_sqlite_is_never_unreachable() -> None:
    err = OperationalError("database is locked")
    assert not is_unreachable(err, "sqlite:////var/lib/am/article-monitor.db")


def test_another_error_is_not_a_connection() -> None:
    assert not is_unreachable(ValueError("Connection refused"), PG)
