"""Real PostgreSQL for tests: a fresh schema of its own per test.

Why not a template database migrated once and cloned per test (CREATE
DATABASE … TEMPLATE, as procrastinate's suite does)? Measured on this
suite's server (scripts/with-postgres.sh, PostgreSQL 15, fsync off; the
script is in the message of the commit that added this file), ten of each:
a clone took 0.31 s median with STRATEGY FILE_COPY (0.40 s with the default
WAL_LOG), a new schema plus all three migrations 0.11 s. CREATE DATABASE
copies the whole catalogue (~7 MB) whatever the schema's size; the clone
wins only once the migrations cost more than ~0.3 s.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator

import pytest
from sqlalchemy import Engine, text

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

PG_URL = os.environ.get("ARTICLE_MONITOR_TEST_PG_URL")


def pg_schema_url(prefix: str = "t") -> Iterator[str]:
    """A fresh, empty schema of its own on the shared server (parallel runs do
    not collide), as a URL an engine or a daemon process can take (the schema
    is its search path); dropped afterwards. Skips without a server."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def pg_engine() -> Generator[Engine]:
    """An engine on pg_schema_url's fresh schema, disposed before the schema is
    dropped; skips without a server."""
    urls = pg_schema_url()
    engine = make_engine(next(urls))
    try:
        yield engine
    finally:
        engine.dispose()
        urls.close()


def pg_migrated() -> Iterator[Engine]:
    """pg_engine's engine, its schema migrated to the head (the daemon's own start
    then finds nothing to do); dropped afterwards even when the migration fails."""
    engines = pg_engine()
    engine = next(engines)
    try:
        upgrade(engine)
        yield engine
    finally:
        engines.close()


def pg_daemon_schema() -> Iterator[tuple[str, Engine]]:
    """pg_migrated's schema for a daemon started as a process: its URL (password
    and all, with the schema as the search path) and the test's engine on it."""
    for engine in pg_migrated():
        yield engine.url.render_as_string(hide_password=False), engine


def pg_repository() -> Iterator[Repository]:
    """A repository on a fresh schema (pg_engine's), migrated; the schema is
    dropped afterwards even when the migration fails."""
    engines = pg_migrated()
    try:
        yield Repository(next(engines))
    finally:
        engines.close()


@pytest.fixture
def pg_repo() -> Iterator[Repository]:
    """The test's repository on PostgreSQL alone (a cluster's database), where the
    shared `repo` runs each test on SQLite too; skips without a server."""
    yield from pg_repository()


def lock_waits(engine: Engine, app_name: str, table: str | None = None) -> list[int]:
    """The backends of the sessions named `app_name` (a daemon's: DaemonProcess sets
    PGAPPNAME) that wait for a lock, on `table` or any. Every ungranted lock of the
    server, or of the table, counted waits that were not the daemon's: a test then
    signalled a daemon that had not begun (exit 130 where 0 was meant)."""
    on_table = (
        " AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted"
        " AND l.relation = CAST(:t AS regclass))"
        if table is not None
        else ""
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.pid FROM pg_stat_activity a"
                " WHERE a.application_name = :app AND a.wait_event_type = 'Lock'" + on_table
            ),
            {"app": app_name, "t": table},
        )
        return [int(row[0]) for row in rows]
