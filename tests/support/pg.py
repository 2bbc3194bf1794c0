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
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from monitor.storage.engine import make_engine

PG_URL = os.environ.get("ARTICLE_MONITOR_TEST_PG_URL")


def pg_engine() -> Iterator[Engine]:
    """An engine on a fresh, empty schema of the shared server (parallel runs
    do not collide), dropped afterwards; skips without a server."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
