"""Engine creation: the SQLite pragmas that make one file a good daemon store.

WAL lets `status` and `/metrics` read while the writer commits; a busy
timeout turns a momentary lock into a wait instead of an error;
synchronous=NORMAL is durable across a process crash (kill -9) in WAL mode,
and loses at most the last commits on power loss. pysqlite's own implicit
transactions are switched off and BEGIN is emitted by SQLAlchemy, so a
transaction starts exactly where the code says (SQLAlchemy's documented
recipe).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.util import asbool

from monitor.storage import turns
from monitor.storage.sqlite_uri import NotWhatItNames, SqliteTarget, sqlite_target

BUSY_TIMEOUT_MS = 5000
BUSY_TIMEOUT_MAX_S = 3600.0  # a SQLite URL's ?timeout= (seconds), at most
# PostgreSQL: seconds to connect. libpq's default is no limit: a server (or a proxy)
# that accepts and never answers held a start in its database check for good, and a
# SIGTERM then waited on that thread (past Kubernetes' grace period, to a SIGKILL).
PG_CONNECT_TIMEOUT_S = 10
WRITE_OPTION = "monitor_write"
# PostgreSQL, the daemon's sessions: a member frozen inside a transaction (SIGSTOP, a
# suspended VM) held its row locks for as long as it stayed frozen, and the live
# members' statements that needed those rows waited as long. The server ends such a
# session after this; the frozen member's transaction fails when it resumes, and is
# tried again like any database error. Not for the CLI's readers (`history` piped to
# a pager would be cut off).
DAEMON_IDLE_IN_TRANSACTION_MS = 30_000
WAL_AUTOCHECKPOINT_PAGES = 10_000  # execution option: this transaction will write
# The WAL file keeps the largest size it ever reached unless this is set: a reader that
# held one transaction open for an hour (a `sqlite3` shell left in BEGIN) grew it to
# gigabytes, and it stayed so after the reader went. Cut back to this when it restarts.
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def url_busy_timeout_ms(url: str | URL) -> int:
    """How long a SQLite connection waits for a lock (ms): the URL's own `?timeout=`
    in seconds (pysqlite's parameter, as SQLAlchemy documents it), else
    BUSY_TIMEOUT_MS. Ours overrode it unsaid, and a value that is not a number
    raised at the first connection (a traceback); ValueError says what to write."""
    given = (make_url(url) if isinstance(url, str) else url).query.get("timeout")
    if given is None:
        return BUSY_TIMEOUT_MS
    if not isinstance(given, str):  # pysqlite's float() of the values: a traceback
        raise ValueError(f"its ?timeout= is given {len(given)} times: give it once")
    text = given
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= BUSY_TIMEOUT_MAX_S:  # NaN too
        raise ValueError(
            f"its ?timeout= is {text!r}: the seconds a SQLite connection waits for a "
            f"lock, a number from 0 to {BUSY_TIMEOUT_MAX_S:g} (default {BUSY_TIMEOUT_MS / 1000:g})"
        )
    return round(seconds * 1000)


def sqlite_opens(url: str | URL) -> SqliteTarget:
    """What SQLite opens for this SQLite URL (sqlite_uri.py): the URL's file, or one in
    memory; ValueError when it would open another than the one it names."""
    parsed = make_url(url) if isinstance(url, str) else url
    with warnings.catch_warnings():  # what it ignores is refused in sqlite_target
        warnings.simplefilter("ignore")
        args, opts = parsed.get_dialect()().create_connect_args(parsed)
    return sqlite_target(parsed, str(args[0]), bool(opts.get("uri")))


def check_sqlite_query(url: str) -> SqliteTarget:
    """Raise ValueError saying what is wrong with a SQLite URL's query: its `?timeout=`
    (url_busy_timeout_ms), or a value of pysqlite's other parameters (`uri`,
    `check_same_thread`, `detect_types`, `cached_statements`) that its driver
    cannot read, or one given twice: each raised a traceback at the engine's making;
    or SQLite's own parameters where they open another database (sqlite_opens);
    or `check_same_thread=true`, which the daemon's threads fail on."""
    parsed = make_url(url)
    url_busy_timeout_ms(parsed)
    twice = [f"?{k}=" for k, v in parsed.query.items() if not isinstance(v, str)]
    try:
        if twice:
            raise ValueError(f"{', '.join(twice)} given more than once")
        target = sqlite_opens(parsed)
    except NotWhatItNames:
        raise
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"SQLite's driver cannot read its query ({exc}): each parameter once; uri and "
            "check_same_thread take true or false, detect_types and cached_statements "
            "a whole number"
        ) from None
    if asbool(parsed.query.get("check_same_thread", "false")):
        # run's database threads share the pool's connections: every statement failed,
        # with a traceback logged at each (SQLAlchemy's pool), and run exited 2
        raise ValueError(
            "its ?check_same_thread=true: article-monitor uses a connection from more than "
            "one thread (the daemon's database work, SQLAlchemy's pool); leave it out"
        )
    return target


def make_engine(
    url: str, *, busy_timeout_ms: int | None = None, idle_in_transaction_ms: int | None = None
) -> Engine:
    """An engine for `url`; for a SQLite file, its directory is created.
    `busy_timeout_ms`: SQLite's wait for a lock; not given, the URL's (url_busy_timeout_ms).
    `idle_in_transaction_ms`: PostgreSQL ends a session left that long inside a
    transaction (DAEMON_IDLE_IN_TRANSACTION_MS), unless the connection's options set it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # the URL's own ?connect_timeout= wins
        given = "connect_timeout" in parsed.query
        extra: dict[str, Any] = {} if given else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        if "fallback_application_name" not in parsed.query:
            # pg_stat_activity names our sessions (a DBA's first question); the URL's
            # ?application_name= and $PGAPPNAME still win, as libpq's fallback does
            extra["fallback_application_name"] = "article-monitor"
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=4, max_overflow=4, connect_args=extra
        )
        if idle_in_transaction_ms is not None:
            _end_idle_transactions(engine, idle_in_transaction_ms)
        return engine
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = url_busy_timeout_ms(parsed) if busy_timeout_ms is None else busy_timeout_ms
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})
    # our own writers queue (turns.py), TURN_AT_LEAST_S at least: a ?timeout= under
    # it (0) is the wait for another process's lock; as the wait for a turn too, the
    # daemon's writers failed on each other (a scan's batch, a claim)
    busy = busy_ms / 1000
    turns.register(engine, max(busy, turns.TURN_AT_LEAST_S), busy=busy)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run from the daemon's own job (Repository.checkpoint), off the
        # claim and write path: an automatic one on a 1,000-row claim's commit
        # tripled its time. This is only the backstop (~40 MB of WAL).
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A write transaction takes the write lock up front: a deferred one that
        # reads first fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT)
        # if another connection committed meanwhile; the busy timeout cannot help.
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Set for the session unless the connection's options set it (source 'client': the
# URL's `options` or libpq's PGOPTIONS, however spelt). Read from the URL, the
# setting's other spellings (upper case, --idle-in-transaction-session-timeout=)
# and PGOPTIONS were overridden. tcp_user_timeout too (PostgreSQL 12+; unknown
# before, so not set): a member frozen while it read a long answer (a big
# document's article ids) left its session `active`, the server waiting to send
# the rest, and its locks were held for as long as it stayed frozen.
_IDLE_UNLESS_GIVEN = (
    "SELECT set_config(name, %s, false) FROM pg_settings WHERE name IN"
    " ('idle_in_transaction_session_timeout', 'tcp_user_timeout') AND source <> 'client'"
)


def _end_idle_transactions(engine: Engine, after_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _idle_timeout(dbapi_connection: Any, _record: Any) -> None:
        was = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET outside any transaction: it stays
        try:
            with dbapi_connection.cursor() as cur:
                cur.execute(_IDLE_UNLESS_GIVEN, (str(int(after_ms)),))
        finally:
            dbapi_connection.autocommit = was
