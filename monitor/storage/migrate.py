"""Run the packaged Alembic migrations programmatically (no alembic.ini at runtime)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from monitor import __version__
from monitor.storage.opening import DatabaseUnusable

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x616D_6D69  # "ammi": article-monitor migrations


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _refuse_newer(conn: Connection) -> None:
    """A schema this version does not know was made by a newer one: in a cluster
    being upgraded, a member not yet upgraded that restarts must say so, not crash."""
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
    cfg = _config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        _refuse_newer(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
