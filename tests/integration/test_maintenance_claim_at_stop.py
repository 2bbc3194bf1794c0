"""A stop between the leader's claim of a maintenance period and its run.

The claim (`maintenance_due`) commits on its thread; the stop cancelled the
job before it started the run, and the claim stayed: maintenance never ran
for that period, and the next leader (this daemon restarted, or another
member) waited a whole `maintenance_interval` for it. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from support.pg import pg_engine
from test_daemon_database_errors import daemon_for, site
from test_daemon_stop_db_threads import ran_at, started

from monitor.daemon.cluster import Membership
from monitor.storage.migrate import upgrade

__all__ = ["site"]  # the loopback site fixture, shared


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The daemon's `--db`: its default SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield {}
        return
    gen = pg_engine()
    engine = next(gen)
    upgrade(engine)
    yield {"db": engine.url.render_as_string(hide_password=False)}
    gen.close()


async def test_a_stop_between_the_claim_and_the_run_gives_the_claim_back(
    tmp_path: Path, site: int, db: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = daemon_for(tmp_path, site, shutdown_grace=30.0, **db)
    claimed, cancelled = threading.Event(), threading.Event()
    due = Membership.maintenance_due

    def due_until_cancelled(self: Membership) -> bool:
        granted = due(self)
        if granted:  # committed: held until the stop has cancelled the job
            claimed.set()
            cancelled.wait(30)
        return granted

    monkeypatch.setattr(Membership, "maintenance_due", due_until_cancelled)
    running = await started(daemon)
    try:
        scheduler = daemon.scheduler
        assert scheduler is not None
        shutdown = scheduler.shutdown

        def shutdown_then_release(wait: bool = True) -> None:
            shutdown(wait=wait)  # cancels the running maintenance job
            cancelled.set()

        scheduler.shutdown = shutdown_then_release  # type: ignore[method-assign]
        scheduler.get_job("maintenance").modify(next_run_time=datetime.now(UTC))
        assert await asyncio.to_thread(claimed.wait, 30)
        daemon.stop()
        assert await asyncio.wait_for(running, 60) == 0, daemon.failure
    finally:
        cancelled.set()
        daemon.stop()
        await asyncio.gather(running, return_exceptions=True)
    engine = create_engine(daemon.settings.database_url())
    try:
        # given back: the next leader runs this period's maintenance at its first tick
        assert await asyncio.to_thread(ran_at, engine) is None
    finally:
        engine.dispose()
    gc.collect()  # a connection left open is psycopg's ResourceWarning, failing this test
