"""PostgreSQL: the monitor's schema is the first of the search_path (current_schema()),
and its version table is the one there (hostile review of the database's life).

An `alembic_version` further along the search_path was taken for ours: another
application's made every start fail as "newer than this version"; and another
monitor's, at the head, made a start on an empty schema of its own run on that
monitor's tables (its history, its cluster), silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from support.pg import PG_URL

from monitor.storage.engine import make_engine
from monitor.storage.migrate import HEAD, current_revision, upgrade
from monitor.storage.opening import DatabaseUnusable

pytestmark = pytest.mark.postgres


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    """Two new schemas: the monitor's (first on the path) and another after it."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    own, other = (f"{n}_{uuid.uuid4().hex[:10]}" for n in ("own", "other"))
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {own}"))
        conn.execute(text(f"CREATE SCHEMA {other}"))
    try:
        yield own, other
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {own} CASCADE"))
            conn.execute(text(f"DROP SCHEMA {other} CASCADE"))
        admin.dispose()


def on_path(*names: str) -> Engine:
    sep = "&" if "?" in str(PG_URL) else "?"
    return make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{','.join(names)}")


def tables_in(engine: Engine, schema: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        )
        return {str(r[0]) for r in rows}


def test_another_applications_version_table_later_on_the_path_is_not_ours(
    schemas: tuple[str, str],
) -> None:
    own, other = schemas
    engine = on_path(own, other)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {other}.alembic_version (version_num VARCHAR(32))"))
        conn.execute(text(f"INSERT INTO {other}.alembic_version VALUES ('ae1027a6acf')"))
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD
        assert {"alembic_version", "targets", "check_results"} <= tables_in(engine, own)
        assert tables_in(engine, other) == {"alembic_version"}
        with engine.connect() as conn:
            theirs = conn.execute(text(f"SELECT version_num FROM {other}.alembic_version"))
            assert theirs.scalar_one() == "ae1027a6acf"
        upgrade(engine)  # the next start finds its own head
    finally:
        engine.dispose()


def test_an_empty_schema_before_a_monitors_schema_is_refused_not_run_on_its_tables(
    schemas: tuple[str, str],
) -> None:
    own, other = schemas
    theirs = on_path(other)
    upgrade(theirs)
    theirs.dispose()
    engine = on_path(own, other)
    try:
        with pytest.raises(DatabaseUnusable, match=f"schema {other}") as caught:
            upgrade(engine)
        assert f"search_path={other}" in str(caught.value)
        assert tables_in(engine, own) == set()
    finally:
        engine.dispose()
