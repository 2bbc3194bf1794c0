"""A stop while the observing side reads the database: the metrics' background
snapshot, a `/metrics` scrape's fresh snapshot, a status API read.

Their threads were not the stop's to wait for (`to_thread`, the status pages'
own pool): the snapshot task and the scrape's handler were cancelled, the
status pool shut down without waiting, and the engine was disposed while the
read held a connection, left open for the garbage collector (psycopg's
"deleted while still open" ResourceWarning, failing whatever test ran next).
PostgreSQL (the warning is psycopg's).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine, event
from support.pg import pg_migrated
from test_daemon_database_errors import daemon_for, site
from test_daemon_stop_db_threads import started

import monitor.observe.metrics as metrics
from monitor.daemon.service import Daemon

__all__ = ["site"]  # the loopback site fixture, shared

pytestmark = pytest.mark.postgres

# a failsafe only: a held read is let go once the stop waits for it, or once the
# engine is disposed (first, with the bug); the verdict never depends on it
HOLD_S = 30.0

SNAPSHOT_SQL = "GROUP BY targets.state, targets.kind"


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_migrated()


class Held:
    """Holds the first statement that `matches` once armed, its connection checked
    out, until the stop waits for database work under way (then it is the stop's
    to wait for) or the engine has been disposed (it was not)."""

    def __init__(self, daemon: Daemon, matches: Callable[[str], bool]) -> None:
        self.armed, self.entered, self.released = (threading.Event() for _ in range(3))
        self.disposed = False
        self._matches = matches
        event.listen(daemon.engine, "before_cursor_execute", self._hold)
        dispose = daemon.engine.dispose

        def disposed(close: bool = True) -> None:
            self.disposed = not self.released.is_set()
            self.released.set()
            dispose(close)

        daemon.engine.dispose = disposed  # type: ignore[method-assign]
        threads = daemon.db_threads
        ended = threads.ended

        async def waited_for(within: float) -> None:
            # the work tracked for the stop (private: a test's look at it)
            if self.entered.is_set() and getattr(threads, "_running", None):
                self.released.set()
            await ended(within)

        threads.ended = waited_for  # type: ignore[method-assign]

    def _hold(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.armed.is_set() and self._matches(statement):
            self.armed.clear()
            self.entered.set()
            self.released.wait(HOLD_S)


async def stop_while_held(daemon: Daemon, running: asyncio.Task[int], held: Held) -> None:
    try:
        assert await asyncio.to_thread(held.entered.wait, 30)
        daemon.stop()
        assert await asyncio.wait_for(running, 60) == 0, daemon.failure
    finally:
        held.released.set()
        daemon.stop()
        await asyncio.gather(running, return_exceptions=True)
    assert not held.disposed, "the engine was disposed while the read held its connection"
    gc.collect()  # a connection left open is psycopg's ResourceWarning, failing this test


async def fetch(http: aiohttp.ClientSession, url: str) -> int:
    """The answer's status (the stop may cut the request short: an error then)."""
    async with http.get(url) as answer:
        await answer.read()
        return answer.status


async def test_a_stop_mid_snapshot_waits_for_it(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "snapshot_wait", lambda took: 0.05)  # one after another
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url, shutdown_grace=30.0)
    held = Held(daemon, lambda sql: SNAPSHOT_SQL in sql)
    running = await started(daemon)
    held.armed.set()  # the background snapshot's next read
    await stop_while_held(daemon, running, held)


async def test_a_stop_mid_scrape_waits_for_its_snapshot(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = threading.Event()

    def after_the_first(took: float) -> float:  # the background's one snapshot
        waiting.set()
        return 3600.0

    monkeypatch.setattr(metrics, "snapshot_wait", after_the_first)
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url, shutdown_grace=30.0)
    # a scrape takes its own snapshot only while they are cheap (under FRESH_BELOW):
    # on a loaded machine the first took longer, the scrape read none, and no read
    # was held; here every snapshot counts as cheap
    daemon.metrics.state._fresh_below = float("inf")
    held = Held(daemon, lambda sql: SNAPSHOT_SQL in sql)
    running = await started(daemon)
    assert await asyncio.to_thread(waiting.wait, 30)
    assert daemon.server is not None
    held.armed.set()  # a small store: the scrape takes its own snapshot
    async with aiohttp.ClientSession() as http:
        scrape = asyncio.create_task(fetch(http, f"{daemon.server.url}/metrics"))
        try:
            await stop_while_held(daemon, running, held)
        finally:
            await asyncio.gather(scrape, return_exceptions=True)


async def test_a_stop_mid_status_read_waits_for_it(tmp_path: Path, site: int, pg: Engine) -> None:
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url, shutdown_grace=30.0)
    held = Held(daemon, lambda sql: threading.current_thread().name.startswith("status-read"))
    running = await started(daemon)
    assert daemon.server is not None
    held.armed.set()
    async with aiohttp.ClientSession() as http:
        read = asyncio.create_task(fetch(http, f"{daemon.server.url}/api/v1/targets"))
        try:
            await stop_while_held(daemon, running, held)
        finally:
            await asyncio.gather(read, return_exceptions=True)
