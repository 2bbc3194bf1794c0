"""What the start makes of an `alembic_version` it did not write, or of a schema at
its head that lost tables or columns (hostile review of the database's life).

Each is refused with a DatabaseUnusable that says what to do: none may crash
(two rows made Alembic raise a CommandError, a traceback), none may run on the
wrong schema (a head without `check_results` started, then failed every
write), and none may touch the history (an empty version table sent Alembic
to re-create every table).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from monitor.storage.migrate import HEAD, upgrade
from monitor.storage.opening import DatabaseUnusable


def _set_versions(engine: Engine, *versions: str | None) -> None:
    """Replace alembic_version by a table without constraints holding `versions`."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        for v in versions:
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": v})


def _kept(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM targets")).scalar_one())


@pytest.fixture
def at_head_with_history(engine: Engine) -> Engine:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, state, fails, succs, last_problems)"
                " VALUES (1, 'https://a.test/', 'web', 'up', 0, 0, '')"
            )
        )
    return engine


@pytest.mark.parametrize(
    ("versions", "said"),
    [
        ((HEAD, "0008"), "2 rows"),
        ((HEAD, HEAD), "2 rows"),
        ((None,), "no revision"),
        ((), "no revision"),
    ],
)
def test_a_version_table_not_of_one_revision_is_refused(
    at_head_with_history: Engine, versions: tuple[str | None, ...], said: str
) -> None:
    engine = at_head_with_history
    _set_versions(engine, *versions)
    with pytest.raises(DatabaseUnusable, match=said) as caught:
        upgrade(engine)
    assert "backup" in str(caught.value)
    assert _kept(engine) == 1


@pytest.mark.parametrize("version", [f"{HEAD} ", f" {HEAD}", "9", "ae1027a6acf"])
def test_a_revision_this_version_does_not_know_is_named_exactly(
    at_head_with_history: Engine, version: str
) -> None:
    engine = at_head_with_history
    _set_versions(engine, version)
    with pytest.raises(DatabaseUnusable, match="newer than this") as caught:
        upgrade(engine)
    shown = version if version.strip() == version else repr(version)
    assert f"revision {shown}," in str(caught.value)  # '0009 ' is not shown as 0009
    assert _kept(engine) == 1


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("DROP TABLE check_results", "check_results"),
        ("DROP TABLE transitions", "transitions"),
        ("ALTER TABLE targets DROP COLUMN bucket", "targets.bucket"),
    ],
)
def test_a_schema_at_head_missing_a_table_or_column_is_refused(
    at_head_with_history: Engine, damage: str, named: str
) -> None:
    engine = at_head_with_history
    with engine.begin() as conn:
        conn.execute(text(damage))
    with pytest.raises(DatabaseUnusable, match=named) as caught:
        upgrade(engine)
    assert f"revision {HEAD}" in str(caught.value)


def test_a_whole_schema_at_head_is_taken(at_head_with_history: Engine) -> None:
    upgrade(at_head_with_history)  # extra tables or columns of our own are no damage
    with at_head_with_history.begin() as conn:
        conn.execute(text("CREATE TABLE operator_notes (x INTEGER)"))
        conn.execute(text("ALTER TABLE targets ADD COLUMN note TEXT"))
    upgrade(at_head_with_history)
