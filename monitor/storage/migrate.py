"""Run the packaged Alembic migrations programmatically (no alembic.ini at runtime).

Every daemon start asks for the head. A schema already there (every start but
the first after an upgrade) is recognised by one read of `alembic_version`
against HEAD, without Alembic: importing it and loading the migration scripts
cost ~0.3 s of CPU and wall at each start (`run --once` on one article took
1.1 s, `check` 0.3). Anything else, or any doubt, goes through Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from monitor import __version__
from monitor.storage.opening import DatabaseUnusable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x616D_6D69  # "ammi": article-monitor migrations
# The newest migration's revision: a test holds it to the scripts' own head.
HEAD = "0009"
VERSION_TABLE = "alembic_version"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _refuse_newer(conn: Connection) -> None:
    """A schema this version does not know was made by a newer one: in a cluster
    being upgraded, a member not yet upgraded that restarts must say so, not crash."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError

    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        return
    try:
        ScriptDirectory.from_config(_config()).get_revision(current)
    except (CommandError, ResolutionError):
        raise DatabaseUnusable(
            f"the database's schema is at revision {current}, newer than this "
            f"article-monitor {__version__} knows (up to {head_revision()}): "
            "run the version that upgraded it"
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema at `engine` to `revision`; a no-op when it is there already.

    On PostgreSQL the members of a cluster may all start at once: a
    transaction-scoped advisory lock lets one migrate while the others wait,
    then find the schema at its head (concurrent CREATE TABLEs failed with
    `pg_type_typname_nsp_index`)."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        _refuse_newer(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def at_head(engine: Engine) -> bool:
    """Whether the schema is at HEAD: one version row, HEAD's. A schema past it
    (a newer version's), behind it, or not there at all is for Alembic to judge."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return False
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return [tuple(r) for r in rows] == [(HEAD,)]
