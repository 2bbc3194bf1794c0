"""A stop while a corpus scan's retry waits for PostgreSQL.

A scan that failed for a passing cause (its connection ended under it) is
tried again a second later (rescan_retry.py). The stop awaited that retry
whole (ScanRetry.close gathered its task): a retry stuck on a lock held by
another session, or on a server that stopped answering, held the stop for
good, although the stop had already named the scan's thread and given up on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import Engine, text
from stop_harness import db_stop_config
from support.pg import PG_URL, lock_waits, pg_daemon_schema

from monitor.storage.engine import make_engine

pytestmark = pytest.mark.postgres

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    """A migrated schema of its own: its URL (password and all) and an engine."""
    yield from pg_daemon_schema()


def test_a_stop_ends_while_a_scans_retry_waits_for_the_database(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    url, engine = pg
    assert PG_URL
    admin = make_engine(PG_URL)
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, rescan_interval=3600)
        holder.begin()
        holder.execute(text("LOCK TABLE documents IN EXCLUSIVE MODE"))
        daemon = DaemonProcess(cfg)
        try:
            scans = wait_for(
                lambda: lock_waits(engine, daemon.app_name, "documents"), BOUND, what=daemon.text
            )
            with admin.connect() as conn:  # the first scan fails: a passing cause
                for pid in scans:
                    conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            wait_for(lambda: "will retry" in daemon.text(), BOUND, what=daemon.text)
            # its retry, a second later, waits for the lock in turn
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "documents"), BOUND, what=daemon.text
            )
            code = daemon.stopped(
                BOUND, " while documents was locked"
            )  # before: held until the lock went
        finally:
            holder.rollback()
            daemon.kill()
            admin.dispose()
    out = daemon.text()
    assert code == 0, out
    assert "(rescan)" in out, out
    assert "Traceback" not in out
