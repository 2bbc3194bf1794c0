"""A stop during the start while PostgreSQL holds the schema's version table
locked (another session's ACCESS EXCLUSIVE: a migration or a dump under way, a
server that stopped answering): `run` ends at once, exit 130, as docs/deploy.md
says of a stop during the start. The read that finds the schema at its head ran
on the loop's executor, which asyncio.run joins: the SIGTERM waited for as long
as the lock was held (a SIGKILL at the units' 30 s)."""

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
    yield from pg_daemon_schema()


def test_a_stop_in_the_start_does_not_wait_for_the_version_tables_lock(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    url, engine = pg
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url)
        holder.begin()
        holder.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        daemon = DaemonProcess(cfg)
        try:
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "alembic_version"),
                BOUND,
                what=daemon.text,
            )
            code = daemon.stopped(BOUND, " while alembic_version was locked")
        finally:
            holder.rollback()
            daemon.kill()
    assert code == 130, daemon.text()
    assert "interrupted (SIGTERM)" in daemon.text()
    assert "Traceback" not in daemon.text()
