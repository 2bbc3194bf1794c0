"""A stop during the start's join of the cluster, on PostgreSQL.

The join is cut at a stop (ending.cut_at_stop): the heartbeats' task was
cancelled before it was kept, so the leave took the daemon for one that never
joined, and the row its first heartbeat wrote (and the maintenance lead it
took) stayed "live" until `cluster_timeout` ran out, after a clean stop (exit
0, no word of it). And a step of the start begun after the stop waited for its
statement the whole bound again: the join behind the soft-404 probe's kept
answers started its heartbeat on a stuck table, another bound on a stop that
had already given up on the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import Engine, text
from stop_harness import db_stop_config
from support.pg import lock_waits, pg_daemon_schema

pytestmark = pytest.mark.postgres

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    """A migrated schema of its own: its URL (password and all) and an engine."""
    yield from pg_daemon_schema()


def members(engine: Engine) -> tuple[int, int]:
    """Rows of cluster members, and roles held by anyone."""
    with engine.connect() as conn:
        rows = conn.scalar(text("SELECT count(*) FROM cluster_members"))
        held = conn.scalar(text("SELECT count(*) FROM cluster_roles WHERE holder IS NOT NULL"))
    return int(rows or 0), int(held or 0)


def test_a_stop_between_the_joins_heartbeats_leaves_the_cluster(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    url, engine = pg
    with LinkServer() as site:
        # the join waits a heartbeat's period between its two beats, far longer
        # than the stop's bound (1 s): the stop lands in that wait
        cfg = db_stop_config(tmp_path, site, url, cluster_heartbeat=20.0, cluster_timeout=120.0)
        daemon = DaemonProcess(cfg)
        try:
            wait_for(lambda: members(engine)[0] > 0, BOUND, what=daemon.text)
            code = daemon.stopped(BOUND)
        finally:
            daemon.kill()
    out = daemon.text()
    assert code == 0, out
    assert "Traceback" not in out
    # before: (1, 1), the stopped member live and leading for cluster_timeout
    assert members(engine) == (0, 0), out


def test_a_stop_during_the_start_begins_none_of_its_later_steps(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    url, engine = pg
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, soft_404_probe=True)
        holder.begin()
        # the kept probe answers' read waits; so would the join's heartbeat
        holder.execute(text("LOCK TABLE probe_answers IN ACCESS EXCLUSIVE MODE"))
        holder.execute(text("LOCK TABLE cluster_members IN EXCLUSIVE MODE"))
        daemon = DaemonProcess(cfg)
        try:
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "probe_answers"),
                BOUND,
                what=daemon.text,
            )
            code = daemon.stopped(BOUND)
        finally:
            holder.rollback()
            daemon.kill()
    out = daemon.text()
    assert code == 0, out
    assert "Traceback" not in out
    left = [line for line in out.splitlines() if "still under way" in line]
    assert len(left) == 1, out
    # before: "(db-writer, heartbeat)", the join begun after the stop
    assert "(db-writer)" in left[0], out


def test_a_stop_whose_budget_a_stuck_writer_spent_still_leaves_the_cluster(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    """The stop's waits share one budget (ending.stop_left); a writer stuck on one
    table spends it all in the settle and the drain, and the leave, on tables that
    answer, was then not begun: the member stayed "live" for `cluster_timeout`."""
    url, engine = pg
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, cluster_timeout=120.0)
        daemon = DaemonProcess(cfg)
        try:
            wait_for(lambda: "scheduler running" in daemon.text(), BOUND, what=daemon.text)
            holder.begin()
            holder.execute(text("LOCK TABLE check_results IN EXCLUSIVE MODE"))
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "check_results"),
                BOUND,
                what=daemon.text,
            )
            code = daemon.stopped(BOUND)
        finally:
            holder.rollback()
            daemon.kill()
    out = daemon.text()
    assert code == 0, out
    assert "(db-writer)" in out, out
    assert "Traceback" not in out
    assert members(engine) == (0, 0), out
