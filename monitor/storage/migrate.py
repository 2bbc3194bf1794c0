"""Run the packaged Alembic migrations programmatically (no alembic.ini at runtime).

Every daemon start asks for the head. A schema already there (every start but
the first after an upgrade) is recognised by one read of `alembic_version`
against HEAD, without Alembic: importing it and loading the migration scripts
cost ~0.3 s of CPU and wall at each start (`run --once` on one article took
1.1 s, `check` 0.3). Anything else, or any doubt, goes through Alembic.

Nothing read from the database is trusted blindly: a version table that is not
one revision this version knows, and a schema at its head that lost tables or
columns, are refused with what to do (DatabaseUnusable) before anything runs
on them. On PostgreSQL the monitor's schema is the first of the search_path.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import OperationalError

from monitor import __version__
from monitor.storage.engine import WRITE_OPTION
from monitor.storage.opening import DatabaseUnusable, sqlite_code
from monitor.storage.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x616D_6D69  # "ammi": article-monitor migrations
# The newest migration's revision: a test holds it to the scripts' own head.
HEAD = "0015"
VERSION_TABLE = "alembic_version"
# How long a start waits for another process's migration of the same SQLite file
# (PostgreSQL's advisory lock waits as long as it takes).
MIGRATION_WAIT_MS = 300_000
# ... in waits this long each, a stop looked at between them: one wait of the
# whole five minutes is a C call that neither a signal handler (`db upgrade`)
# nor a stopping daemon (the wait runs in a thread) could end
MIGRATION_SLICE_MS = 200


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The schema's revision; None for a database without one. Raises
    DatabaseUnusable when the version table holds anything but one revision."""
    with engine.connect() as conn:
        versions = _versions(conn)
    return _one_revision(versions) if versions else None


def _schema(conn: Connection) -> str | None:
    """The monitor's schema on PostgreSQL: the first of the search_path that exists,
    where its migrations create every table. None on SQLite."""
    return conn.dialect.default_schema_name if conn.dialect.name == "postgresql" else None


def _versions(conn: Connection) -> list[object] | None:
    """The rows of `alembic_version`, as they are; None when there is no such table.

    On PostgreSQL only the monitor's own schema's: one further along the
    search_path is another application's, or another monitor's."""
    schema = _schema(conn)
    if not inspect(conn).has_table(VERSION_TABLE, schema=schema):
        return None
    where = f"{conn.dialect.identifier_preparer.quote_schema(schema)}." if schema else ""
    return [r[0] for r in conn.execute(text(f"SELECT version_num FROM {where}{VERSION_TABLE}"))]


def _refuse_shadowed(conn: Connection) -> None:
    """An empty schema first on the search_path, before another schema holding a
    monitor's tables: the operator most likely meant those (a schema created in
    front of them later); starting afresh would leave their history behind."""
    schema = _schema(conn)
    if schema is None:
        return
    found = conn.execute(
        text(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname IN ('targets', 'check_results') AND n.nspname <> :own"
            " AND pg_table_is_visible(c.oid) LIMIT 1"
        ),
        {"own": schema},
    ).scalar()
    if found is not None:
        raise DatabaseUnusable(
            f"schema {schema}, first on the search_path, holds no article-monitor tables, but "
            f"schema {found} after it does: to use that history, set search_path={found} "
            f"in --db; to start a new one in {schema}, leave {found} off the search_path"
        )


def _one_revision(versions: list[object]) -> str:
    """The one revision in a non-empty version table; anything else is damage."""
    if len(versions) > 1:
        raise DatabaseUnusable(
            f"{VERSION_TABLE} holds {len(versions)} rows ({', '.join(map(repr, versions))}); "
            "one revision was expected: the table was edited or damaged. Restore a backup"
        )
    current = versions[0]
    if not isinstance(current, str) or not current:
        raise DatabaseUnusable(
            f"{VERSION_TABLE} holds no revision ({current!r}); the table was edited or "
            "damaged. Restore a backup"
        )
    return current


def _our_tables(conn: Connection) -> list[str]:
    """The monitor's tables in its schema, sorted (whatever else the database holds)."""
    return sorted(set(metadata.tables) & set(inspect(conn).get_table_names(_schema(conn))))


def _shown(revision: str) -> str:
    """A revision as written, quoted when it holds anything but word characters:
    '0009 ' is not 0009."""
    return revision if re.fullmatch(r"[\w.-]+", revision) else repr(revision)


def _refuse_unknown(conn: Connection) -> None:
    """Refuse a version table that is not one revision this version knows, before
    Alembic reads it: two rows made it raise (a traceback), and an empty one sent it
    to create every table again over the history ("table documents already exists").
    A schema this version does not know was made by a newer one: in a cluster being
    upgraded, a member not yet upgraded that restarts must say so, not crash."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError

    versions = _versions(conn)
    ours = _our_tables(conn)
    if versions is None and not ours:
        _refuse_shadowed(conn)
    if not versions:
        if ours:  # tables of ours, but no revision to migrate them from
            raise DatabaseUnusable(
                f"the database holds article-monitor tables ({', '.join(ours[:3])}, ...) but "
                f"no revision in {VERSION_TABLE}, so it cannot be migrated safely: restore "
                "a backup, or point --db at a new database"
            )
        return
    current = _one_revision(versions)
    try:
        ScriptDirectory.from_config(_config()).get_revision(current)
    except (CommandError, ResolutionError):
        raise DatabaseUnusable(
            f"the database's schema is at revision {_shown(current)}, newer than this "
            f"article-monitor {__version__} knows (up to {HEAD}): run the version that "
            f"upgraded it (or, if none did, {VERSION_TABLE} was edited: restore a backup)"
        ) from None


def missing(conn: Connection) -> list[str]:
    """The tables and columns of this version's models absent from the database."""
    if conn.dialect.name == "sqlite":
        sql = (
            "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p"
            " WHERE m.type = 'table'"
        )
    else:
        sql = (
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
    have: dict[str, set[str]] = {}
    for table_name, column_name in conn.exec_driver_sql(sql):
        have.setdefault(str(table_name), set()).add(str(column_name))
    gone: list[str] = []
    for name, table in metadata.tables.items():
        if name not in have:
            gone.append(name)
        else:
            gone.extend(f"{name}.{c.name}" for c in table.columns if c.name not in have[name])
    return gone


def _refuse_incomplete(conn: Connection) -> None:
    """A schema at the head must hold every table and column the code uses: one that
    lost some started, then failed every claim or write (`no such table`)."""
    gone = missing(conn)
    if gone:
        shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        raise DatabaseUnusable(
            f"the database's schema is at revision {HEAD} but lacks {shown}: it was "
            "damaged or edited. Restore a backup"
        )


def upgrade(engine: Engine, revision: str = "head", *, stop: threading.Event | None = None) -> None:
    """Bring the schema at `engine` to `revision`; a no-op when it is there already.

    On PostgreSQL the members of a cluster may all start at once: a
    transaction-scoped advisory lock lets one migrate while the others wait,
    then find the schema at its head (concurrent CREATE TABLEs failed with
    `pg_type_typname_nsp_index`). On SQLite the same is done by taking the
    write lock first (BEGIN IMMEDIATE), waiting up to MIGRATION_WAIT_MS for it:
    a deferred transaction that read first failed at once, `database is locked`.
    `stop` set ends that wait (a daemon stopped while it waits for another's).
    """
    if revision == "head" and whole_at_head(engine):
        return
    from alembic import command

    cfg = _config()
    with _migrating(engine, stop) as conn:
        _refuse_unknown(conn)
        cfg.attributes["connection"] = conn
        cfg.attributes["version_table_schema"] = _schema(conn)
        command.upgrade(cfg, revision)
        if revision == "head":
            _refuse_incomplete(conn)


def whole_at_head(engine: Engine) -> bool:
    """Whether the schema is at this version's head, whole (else DatabaseUnusable):
    `upgrade` has nothing to do then. Every start asks, with one connection; it
    only reads, so a stopping daemon leaves it behind (daemon/unjoined.py)."""
    with engine.connect() as conn:
        if _versions(conn) == [HEAD]:
            _refuse_incomplete(conn)
            return True
    return False


@contextmanager
def _migrating(engine: Engine, stop: threading.Event | None) -> Iterator[Connection]:
    """The migration's transaction, held by one process at a time."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                _advisory_lock(conn, stop)
                yield conn
            return
        raw: Any = conn.connection.driver_connection
        before = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
        try:
            conn.execution_options(**{WRITE_OPTION: True})
            with _write_lock(conn, raw, stop):
                yield conn
        finally:
            raw.execute(f"PRAGMA busy_timeout={before}")


def _advisory_lock(conn: Connection, stop: threading.Event | None) -> None:
    """PostgreSQL's migration lock, tried every MIGRATION_SLICE_MS: a wait in
    pg_advisory_xact_lock lasts as long as another's migration, in a thread a
    stopping daemon's asyncio.run joins (SIGTERM waited all that time)."""
    lock = text("SELECT pg_try_advisory_xact_lock(:k)")
    while not conn.execute(lock, {"k": MIGRATION_LOCK}).scalar():
        if stop is not None and stop.is_set():
            raise DatabaseUnusable("stopped while waiting for another migration")
        time.sleep(MIGRATION_SLICE_MS / 1000)


# the codes of "database is locked": the only refusal worth another slice of the wait
_LOCK_HELD = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


@contextmanager
def _write_lock(conn: Connection, raw: Any, stop: threading.Event | None) -> Iterator[None]:
    """BEGIN IMMEDIATE, tried for MIGRATION_WAIT_MS in slices of MIGRATION_SLICE_MS."""
    deadline = time.monotonic() + MIGRATION_WAIT_MS / 1000
    while True:
        left_ms = int((deadline - time.monotonic()) * 1000)
        raw.execute(f"PRAGMA busy_timeout={max(0, min(MIGRATION_SLICE_MS, left_ms))}")
        try:
            transaction = conn.begin()
        except OperationalError as exc:
            if sqlite_code(exc) not in _LOCK_HELD or left_ms <= MIGRATION_SLICE_MS:
                raise
            if stop is not None and stop.is_set():
                raise DatabaseUnusable("stopped while waiting for another migration") from None
            conn.rollback()  # nothing began: the connection is free for the next try
            continue
        with transaction:
            yield
        return


def refuse_unreadable(engine: Engine) -> None:
    """For the commands that only read (`status`, `history`): the schema must be this
    version's, whole. One behind it failed in the middle (`no such column:
    targets.bucket`, nothing said of `db upgrade`), or showed what it could."""
    with engine.connect() as conn:
        versions = _versions(conn)
        if versions == [HEAD]:
            _refuse_incomplete(conn)
            return
        ours = _our_tables(conn)
        if not versions and not ours:
            raise DatabaseUnusable(
                "the database has no schema yet: run `article-monitor db upgrade`"
            )
        _refuse_unknown(conn)
    raise DatabaseUnusable(
        f"the database's schema is at revision {_one_revision(versions or [None])}, older "
        f"than this article-monitor {__version__}'s ({HEAD}): run `article-monitor db upgrade` "
        "(a daemon of this version also does it as it starts)"
    )


def at_head(engine: Engine) -> bool:
    """Whether the schema is at HEAD: one version row, HEAD's. A schema past it
    (a newer version's), behind it, or not there at all is for Alembic to judge."""
    with engine.connect() as conn:
        return _versions(conn) == [HEAD]
