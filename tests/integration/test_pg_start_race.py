"""A boot's race: libpq is refused, then the server is up before the probe that
judges the failure asks it (reachable.py). The probe found a server answering
and read the failure as configuration: exit 2, which the unit never restarts, so
the daemon stayed down after a boot where it came up a moment before PostgreSQL.
The start's database check now connects again when the probe finds the server up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine
from monitor.storage.opening import DatabaseUnreachable, DatabaseUnusable, check

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    yield from pg_schema_url()


def refused(engine: Any, times: int, said: str) -> list[int]:
    """The engine's first `times` connects fail as libpq's refusal does."""
    tries: list[int] = []

    @event.listens_for(engine, "do_connect")
    def connect(*_: Any) -> None:
        tries.append(1)
        if len(tries) <= times:
            raise psycopg.OperationalError(said)

    return tries


def test_a_server_up_by_the_time_it_is_asked_is_connected_again(url: str) -> None:
    engine = make_engine(url)
    try:
        tries = refused(engine, 1, "connection failed: Connection refused")
        check(engine, url)  # before: DatabaseUnusable (exit 2)
        assert len(tries) == 2
    finally:
        engine.dispose()


def test_configuration_fails_both_tries_and_is_said_as_configuration(url: str) -> None:
    """A password refused every time: exit 2 as before, after one connect more."""
    engine = make_engine(url)
    try:
        said = 'FATAL:  password authentication failed for user "am"'
        tries = refused(engine, 9, said)
        with pytest.raises(DatabaseUnusable) as raised:
            check(engine, url)
        assert not isinstance(raised.value, DatabaseUnreachable)
        assert "password authentication failed" in str(raised.value)
        assert len(tries) == 2
    finally:
        engine.dispose()
