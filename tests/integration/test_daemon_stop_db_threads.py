"""A stop while a job's or a readiness ping's thread is inside the database.

The stop cancelled the scheduler's jobs (and `/readyz` gave up on its ping
after PING_TIMEOUT), but their threads ran on, and the engine was disposed
under them: a job's write landed after the stop (a maintenance period claimed
by a daemon that had said "stopped"), and the connection checked out across
the dispose was left open for the garbage collector (psycopg's
ResourceWarning, failing whatever test ran next). PostgreSQL (a cluster).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from support.pg import pg_migrated
from test_daemon_database_errors import daemon_for, site

from monitor.daemon.cluster import Membership
from monitor.daemon.service import Daemon
from monitor.storage.cluster import MAINTENANCE, ROLES
from monitor.storage.repository import Repository

__all__ = ["site"]  # the loopback site fixture, shared

pytestmark = pytest.mark.postgres

# how long a held statement waits for the engine's dispose (it comes first with
# the bug); only the test's length, never its verdict, depends on it
HOLD_S = 3.0


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_migrated()


class Held:
    """Holds the first statement that `matches` once armed, until the daemon's
    engine has been disposed (or HOLD_S): its connection is checked out meanwhile."""

    def __init__(self, daemon: Daemon, matches: Callable[[str], bool]) -> None:
        self.armed, self.entered, self.disposed = (threading.Event() for _ in range(3))
        self._matches = matches
        event.listen(daemon.engine, "before_cursor_execute", self._hold)
        dispose = daemon.engine.dispose

        def disposed(close: bool = True) -> None:
            dispose(close)
            self.disposed.set()

        daemon.engine.dispose = disposed  # type: ignore[method-assign]

    def _hold(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.armed.is_set() and self._matches(statement):
            self.armed.clear()
            self.entered.set()
            self.disposed.wait(HOLD_S)


async def started(daemon: Daemon) -> asyncio.Task[int]:
    """The daemon running, its scheduler started (it has joined the cluster)."""
    running = asyncio.create_task(daemon.run())
    for _ in range(600):
        if daemon.scheduler is not None or running.done():
            break
        await asyncio.sleep(0.05)
    assert daemon.scheduler is not None, daemon.failure
    return running


def ran_at(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(select(ROLES.c.ran_at).where(ROLES.c.role == MAINTENANCE))


async def test_a_stop_mid_maintenance_waits_for_its_write(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url, shutdown_grace=30.0)
    held = Held(daemon, lambda sql: "SET ran_at" in sql and "RETURNING" in sql)
    done = threading.Event()
    due = Membership.maintenance_due

    def due_then_done(self: Membership) -> bool:
        try:
            return due(self)
        finally:
            done.set()

    monkeypatch.setattr(Membership, "maintenance_due", due_then_done)
    running = await started(daemon)
    try:
        assert daemon.scheduler is not None
        held.armed.set()  # the leader's claim of this period's maintenance run
        daemon.scheduler.get_job("maintenance").modify(next_run_time=datetime.now(UTC))
        assert await asyncio.to_thread(held.entered.wait, 30)
        daemon.stop()
        assert await asyncio.wait_for(running, 60) == 0, daemon.failure
        at_stop = await asyncio.to_thread(ran_at, pg)
    finally:
        held.disposed.set()
        daemon.stop()
        await asyncio.gather(running, return_exceptions=True)
    assert await asyncio.to_thread(done.wait, 30)  # the held job's thread is over
    assert await asyncio.to_thread(ran_at, pg) == at_stop  # nothing written after the stop
    gc.collect()  # a connection left open is psycopg's ResourceWarning, failing this test


async def test_a_stop_after_readiness_gave_up_on_its_ping_waits_for_the_ping(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url, shutdown_grace=30.0)
    held = Held(daemon, lambda sql: sql == "SELECT 1")
    done = threading.Event()
    ping = Repository.ping

    def ping_then_done(self: Repository) -> None:
        try:
            ping(self)
        finally:
            done.set()

    monkeypatch.setattr(Repository, "ping", ping_then_done)
    running = await started(daemon)
    try:
        held.armed.set()
        ready, detail = await daemon.readiness()  # gives up after PING_TIMEOUT
        assert held.entered.is_set()
        assert not ready and detail["database"].startswith("unreachable: no answer"), detail
        daemon.stop()
        assert await asyncio.wait_for(running, 60) == 0, daemon.failure
    finally:
        held.disposed.set()
        daemon.stop()
        await asyncio.gather(running, return_exceptions=True)
    assert await asyncio.to_thread(done.wait, 30)  # the ping's thread is over
    gc.collect()  # a connection left open is psycopg's ResourceWarning, failing this test
