"""A cluster member whose own clock runs ahead of the database's: due times, leases
and `run --once`'s cutoff are the cluster's clock (the database's), but the corpus
scan stamped the targets it stores with this machine's clock. Its new targets
were due only once the cluster's clock caught up: `run --once` on a member ten
minutes ahead stored the corpus and checked none of it (exit 0), and a daemon
left them unchecked for the skew. PostgreSQL (SQLite is one machine, one clock)."""

from __future__ import annotations

import asyncio
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from support.pg import pg_migrated
from test_daemon_database_errors import daemon_for, site

import monitor.daemon.cluster as cluster_mod
import monitor.daemon.scan as scan_mod
import monitor.daemon.service as service_mod
import monitor.observe.metrics as metrics_mod
from monitor.daemon.clock_step import SLACK_MS
from monitor.observe.metrics import PREFIX
from monitor.storage.repository import RESULTS, TARGETS, Repository, now_ms

__all__ = ["site"]  # the loopback site fixture, shared

pytestmark = pytest.mark.postgres

AHEAD_MS = 10 * 60_000


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_migrated()


def machine_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's clock AHEAD_MS ahead of the database's."""

    def ahead() -> int:
        return now_ms() + AHEAD_MS

    for mod in (cluster_mod, scan_mod, service_mod):
        monkeypatch.setattr(mod, "now_ms", ahead, raising=False)


async def test_run_once_on_a_member_ahead_of_the_database_checks_the_new_corpus(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine_ahead(monkeypatch)
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, once=True, db=url, cluster_heartbeat=0.2)
    assert await asyncio.wait_for(daemon.run(), 60) == 0, daemon.failure
    with pg.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RESULTS)) == 1


async def test_a_rescan_stamps_new_targets_with_the_clusters_clock(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine_ahead(monkeypatch)
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url)
    try:
        daemon.membership.sync_clock()  # as every heartbeat does
        await daemon.rescan()
        db_now = Repository(pg).db_now()
        with pg.connect() as conn:
            due = list(conn.scalars(select(TARGETS.c.next_due)))
        assert due and all(d <= db_now + SLACK_MS for d in due), [d - db_now for d in due]
    finally:
        daemon.engine.dispose()


async def test_the_cycle_lag_is_read_on_the_clusters_clock(
    tmp_path: Path, site: int, pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member ten minutes ahead reported ten minutes of cycle lag (an alert) for
    targets due just now."""
    machine_ahead(monkeypatch)
    ahead = types.SimpleNamespace(
        time=lambda: time.time() + AHEAD_MS / 1000, monotonic=time.monotonic
    )
    monkeypatch.setattr(metrics_mod, "time", ahead)
    url = pg.url.render_as_string(hide_password=False)
    daemon = daemon_for(tmp_path, site, db=url)
    try:
        daemon.membership.sync_clock()
        await daemon.rescan()
        lag = daemon.metrics.registry.get_sample_value(PREFIX + "cycle_lag_seconds")
        assert lag is not None and lag < SLACK_MS / 1000
    finally:
        daemon.engine.dispose()
