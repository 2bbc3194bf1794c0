"""Open the history database only when it can be used, and say why when it cannot.

A damaged or foreign file must stop the daemon at the door: once running, a
corrupt SQLite file answers `SELECT 1` (readiness said "ok") while every
write fails, and a 0-byte file is taken by SQLite as a new, empty database
(the history is silently gone). So, before anything else touches it:

- a path that is not a file, or a 0-byte file, is refused. The daemon
  creates its database itself when it is absent (and SQLite writes the
  header at once), so an empty file is never something an operator needs; it
  is what a truncation or a failed restore leaves behind. Starting afresh on
  it would hide the loss, so we refuse and say how to start afresh (delete
  it). A write-ahead log beside it changes nothing: SQLite opens such a pair
  as an empty database, which is how a file truncated under a running daemon
  came back as a fresh, silently empty history;
- a file that is not a SQLite database, or fails `PRAGMA quick_check`, is
  refused with what to do;
- a server that cannot be reached is reported with its URL (password hidden).

Every refusal is a `DatabaseUnusable` whose message is meant for the user.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from monitor import urls
from monitor.storage import reachable
from monitor.storage.engine import (
    WRITE_OPTION,
    check_sqlite_query,
    is_sqlite,
    make_engine,
    sqlite_opens,
)
from monitor.storage.sqlite_uri import SqliteTarget, file_url
from monitor.storage.tables import metadata

QUICK_CHECK_LINES = 3  # of quick_check's complaints, shown to the user
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
DISK_FULL = "53100"  # PostgreSQL's SQLSTATE disk_full
_WRITE_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})


class DatabaseUnusable(Exception):
    """The database cannot be used as it is; the message says what to do."""


class DatabaseUnreachable(DatabaseUnusable):
    """A database server that cannot be reached yet (refused, timed out, a name not
    resolved, starting up or out of connection slots), a SQLite file another
    process holds locked past the wait, or a disk full under either: a later try
    may work, as a configuration error's never does. `run` exits EX_TEMPFAIL (75) for it, which
    the systemd unit restarts and exit 2 it does not (docs/deploy.md)."""


def is_unreachable(exc: BaseException, url: str) -> bool:
    """`exc` says the database could not be reached, or not yet: a later try may
    work. A server's as `reachable.server_not_up` finds it (asked of its socket,
    not read from libpq's message, which the locale translates). A SQLite file's
    only when another process holds it locked past the wait (SQLITE_BUSY: a `db`
    command, a backup, a sqlite3 shell's open transaction; "try again once it is
    done"), not another `run` (sqlite_lock.py). A full disk under either (SQLite's
    file or the server's, SQLSTATE 53100): space freed by log rotation, a cleanup
    or the operator mends it with no change to the configuration; it was exit 2,
    which the unit does not restart, under a message saying "then try again"."""
    if sqlite_path(url) is not None or is_sqlite(url):
        code = sqlite_code(exc)
        return code == sqlite3.SQLITE_BUSY or _full(code, sqlite_path(url))
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == DISK_FULL:
        return True
    return reachable.server_not_up(orig, url)


def _full(code: int | None, path: Path | None) -> bool:
    """SQLite's answer for a full disk under `path` (see `_no_room`)."""
    return code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _no_room(path))


def unusable(exc: BaseException, url: str) -> DatabaseUnusable:
    """The error a start raises for `exc`: DatabaseUnreachable when a later try may
    work, else DatabaseUnusable; the message as `explain` says it."""
    kind = DatabaseUnreachable if is_unreachable(exc, url) else DatabaseUnusable
    return kind(explain(exc, url))


def shown_url(url: str) -> str:
    """The URL as it may appear in logs and errors: never with its password
    (`monitor.urls.redact`: also a `?password=`, which SQLAlchemy would show)."""
    return urls.redact(url)


def _opens(url: str) -> SqliteTarget | None:
    """What SQLite opens for `url` (sqlite_uri.py); None for a server, or a URL that
    check_sqlite_query refuses (open_database does so before any use)."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return None
        return sqlite_opens(parsed)
    except (ArgumentError, TypeError, ValueError):
        return None


def sqlite_path(url: str) -> Path | None:
    """The file SQLite opens for a SQLite URL (a `file:` URI's path too); None for a
    server or a database in memory."""
    target = _opens(url)
    path = target.path if target is not None else None
    return None if path is None else Path(path)


def is_memory(url: str) -> bool:
    """A SQLite database in memory or temporary (`sqlite://`, `:memory:`,
    `file::memory:`, `file:` with no path, a `mode=memory` or `vfs=memdb` URI), judged
    as SQLite reads the URL: a file under a folder named `mode=memory` is a file."""
    target = _opens(url)
    return target is not None and target.memory


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code behind `exc` (a SQLAlchemy or sqlite3 error)."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_damage(exc: BaseException) -> bool:
    """The file is corrupt or not a database: retrying cannot help, writing may harm."""
    return sqlite_code(exc) in _DAMAGE_CODES


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    body = str(orig if orig is not None else exc)
    return body.splitlines()[0][:200] if body.strip() else type(exc).__name__


def damaged_message(where: str, detail: str) -> str:
    return (
        f"{where} is damaged ({detail}). Stop every process that uses it, keep a copy, then "
        f"recover what is readable with `sqlite3 {where} .recover | sqlite3 recovered.db` "
        "and point --db at the result, or restore a backup"
    )


def explain_damage(exc: BaseException, url: str) -> str:
    """Damage met while running: whatever SQLite calls it, the file was a database."""
    path = sqlite_path(url)
    return damaged_message(str(path) if path is not None else shown_url(url), first_line(exc))


def _no_room(path: Path | None) -> bool:
    """The file system holding `path` is full: SQLite calls a -shm it cannot grow
    (SQLITE_IOERR_SHMSIZE) an I/O error, not SQLITE_FULL."""
    if path is None:
        return False
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def explain(exc: BaseException, url: str) -> str:
    """A database error as one line a user can act on."""
    path = sqlite_path(url)
    where = str(path) if path is not None else shown_url(url)
    code = sqlite_code(exc)
    detail = first_line(exc)
    if code == sqlite3.SQLITE_NOTADB:
        return (
            f"{where} is not a SQLite database ({detail}). Point --db or --data-dir at the "
            "monitor's database, or move this file away to start a new one"
        )
    if code == sqlite3.SQLITE_CORRUPT:
        return damaged_message(where, detail)
    if code == sqlite3.SQLITE_BUSY:
        return (
            f"{where} is locked by another process ({detail}): a daemon or `db upgrade` "
            "migrating it, or a sqlite3 shell with a transaction open; try again once it is done"
        )
    if _full(code, path):
        return (
            f"cannot write {where} ({detail}): the disk holding it is full; free some space "
            "(SQLite needs room for its write-ahead log beside it too), then try again"
        )
    if code in _WRITE_CODES and path is not None:
        return (
            f"cannot write {where} ({detail}): the database and its directory must be "
            f"writable (SQLite creates {path.name}-wal and {path.name}-shm beside it)"
        )
    if path is None:
        return f"cannot use the database {where}: {detail}"
    return f"{where}: {detail}"


def _refuse_unusable_file(path: Path) -> None:
    if not path.exists():
        return
    if not path.is_file():
        raise DatabaseUnusable(f"{path} is not a file; --db or --data-dir must name a database")
    if path.stat().st_size == 0:
        wal = path.with_name(path.name + "-wal")
        kept = f" (keep {wal.name} beside it too)" if wal.exists() else ""
        raise DatabaseUnusable(
            f"{path} is empty (0 bytes): it holds no history, though a database was "
            f"expected there (truncated, or a failed copy?). Restore it from a backup{kept}; "
            "or, to start with an empty history, delete it"
        )


def _refuse_foreign(path: Path) -> None:
    """A SQLite file with tables but none of the monitor's (nor its version table) is
    another program's: opening it for use switched it to WAL for good, and a migration
    wrote the monitor's tables into it. So it is looked at read-only first; a file that
    cannot be read so is left to the checks that follow, which say why."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        if _needs_immutable(path, conn):
            conn.close()
            conn = sqlite3.connect(f"{path.absolute().as_uri()}?immutable=1", uri=True)
    except (sqlite3.Error, ValueError):
        return
    try:
        names = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
    except sqlite3.Error:
        return
    finally:
        conn.close()
    if not names or "alembic_version" in names or set(names) & set(metadata.tables):
        return
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise DatabaseUnusable(
        f"{path} is another program's SQLite database (tables {shown}; none of "
        "article-monitor's): point --db or --data-dir at the monitor's database, or at a "
        "new file, which is created"
    )


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _log_size(path: Path) -> int:
    try:
        return _beside(path, "-wal").stat().st_size
    except OSError:
        return 0


def _needs_immutable(path: Path, conn: sqlite3.Connection) -> bool:
    """Whether a read-only connection fails only for want of a -shm it cannot create
    (see `open_for_reading`) and `immutable=1` reads the file exactly."""
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        return _folder_only(exc, path)
    return False


def _folder_only(exc: BaseException, path: Path) -> bool:
    """SQLite could not create the -shm (and -wal) a WAL file is read with: the
    folder is read-only to this process (SQLITE_READONLY_DIRECTORY; root on an
    immutable folder: SQLITE_CANTOPEN), while the file itself is readable."""
    return (
        sqlite_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
        and not _beside(path, "-shm").exists()
        and os.access(path, os.R_OK)
    )


def open_for_reading(url: str) -> Engine:
    """An engine for the commands that only read (`status`, `history`), on a SQLite
    file in a folder this process cannot write, too: a read-only mount, a 0555
    folder, another user's data directory.

    A WAL file is read with its -shm beside it, created by the first reader if
    absent; with no live writer (none keeps a -shm) and the folder read-only, SQLite
    cannot, and the readers said "cannot write". Then, when no write-ahead log holds
    commits the file lacks, `immutable=1` reads the file exactly as it is: what a
    daemon later writes goes to a new -wal first, which needs the folder writable.
    A log with commits in it needs the -shm to be read: that is an error saying what
    to do, never the file read without them.
    """
    engine = open_database(url, create=False, verify=False)
    path = sqlite_path(url)
    if path is None:
        return engine
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except SQLAlchemyError as exc:
        if not _folder_only(exc, path):
            return engine  # the reader meets the error again and says it
        engine.dispose()
        return _immutable_engine(url, path, exc)
    return engine


def _immutable_engine(url: str, path: Path, exc: BaseException) -> Engine:
    target = sqlite_opens(url)
    if set(target.params) - {"mode", "cache"}:  # the URL's own choices: not ours to add to
        raise DatabaseUnusable(explain(exc, url))
    if pending := _log_size(path):
        wal = _beside(path, "-wal").name
        raise DatabaseUnusable(
            f"cannot read {path}: {wal} beside it holds {pending} bytes of commits not "
            f"yet in the file (its daemon stopped uncleanly), and SQLite must create "
            f"{path.name}-shm to read them, in a folder this user cannot write: run this "
            "as a user who can write the folder, start the daemon once (it folds the log "
            f"into the file), or copy {path.name} and {wal} together into a writable "
            "folder and point --db there"
        )
    timeout = make_url(url).query.get("timeout")
    params = {"immutable": "1"} | ({"timeout": timeout} if isinstance(timeout, str) else {})
    return make_engine(file_url(str(path.absolute()), params))


def _create_whole(path: Path) -> bool:
    """Make a new, empty SQLite database at `path` that is never seen empty.

    SQLite creates its file with 0 bytes and writes the header a moment later;
    another start on the same new file in between refused it as truncated
    (above). So it is made beside the path, then hard-linked into place: one
    step, and the first of several starts wins (the others open its file).
    True if this call's file is the one in place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        conn = sqlite3.connect(fresh)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # writes the header
        finally:
            conn.close()
        try:
            os.link(fresh, path)
        except FileExistsError:
            return False  # another start made it first
        except OSError:  # no hard links here: as SQLite itself would do it
            if path.exists():
                return False
            os.replace(fresh, path)
        return True
    finally:
        with contextlib.suppress(OSError):
            fresh.unlink()


def _refuse_read_only_uri(target: SqliteTarget, path: Path, *, create: bool) -> None:
    """A URI that opens the file read-only: the daemon and `db upgrade` write (and
    made the file first); `immutable=1` ignores the -wal beside it, whose commits
    are not in the file yet: a running daemon's history read as missing or empty."""
    how = target.read_only
    if how is None:
        return
    if create:
        raise DatabaseUnusable(
            f"the URL opens {path} read-only ({how}), and this command writes to it: "
            f"leave {how} out (`status` and `history` may keep it)"
        )
    wal = path.with_name(path.name + "-wal")
    try:
        pending = wal.stat().st_size
    except OSError:
        pending = 0
    if target.immutable and pending:
        raise DatabaseUnusable(
            f"the URL opens {path} with immutable=1, which ignores {wal.name} beside it "
            f"({pending} bytes, which may hold commits not yet in the file: a daemon runs, or "
            "stopped uncleanly): leave immutable=1 out (mode=ro reads both)"
        )


def _refuse_unlocked(target: SqliteTarget, path: Path) -> None:
    """A URI that turns SQLite's file locks off (sqlite_uri.UNLOCKED_VFS, nolock=1). The
    daemon's connections (the writer, the claims, the status reads) and the other
    commands keep out of each other's way by those locks: without them a write lands
    over another's pages (a corrupt file), and a read sees a half-written page.
    Refused for the readers too: mode=ro reads with the locks."""
    how = target.unlocked
    if how is not None:
        raise DatabaseUnusable(
            f"the URL turns SQLite's locking off ({how}) on {path}: the daemon's "
            "connections and the other commands rely on its locks, and without them a "
            "write can corrupt the file and a read see a half-written page; "
            f"leave {how} out"
        )


URL_SHAPES = "sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"


def _not_a_url(url: str, exc: Exception) -> str:
    """What is wrong with a `--db` that does not parse, and what to write instead.

    The value is not repeated: it may hold a password.
    """
    if isinstance(exc, ValueError):  # SQLAlchemy's int() of the port
        why = "its port is not a number"
    elif "://" not in url:
        why = (
            "a file is named sqlite:///relative/path or sqlite:////absolute/path "
            "(or leave --db out: DATA_DIR/article-monitor.db)"
        )
    else:
        why = first_line(exc)
    return f"not a database URL: {why}; expected {URL_SHAPES}"


def _is_text(value: str) -> bool:
    """No lone surrogates: bytes that are not UTF-8 in an argument arrive as those."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_database(
    url: str,
    *,
    create: bool,
    verify: bool = True,
    created: Callable[[Path], None] | None = None,
    idle_in_transaction_ms: int | None = None,
) -> Engine:
    """An engine on a database fit for use, checked (SQLite: `PRAGMA quick_check`).

    With `create`, a missing SQLite file (and its directory) is made, as the
    daemon and `db upgrade` need; without, its absence is an error. Without
    `verify`, only the file is looked at: the caller runs `check` later.
    `created` is told the file's path when this call made it.
    """
    try:
        path = sqlite_path(url)
        host = make_url(url).host or ""
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise DatabaseUnusable(_not_a_url(url, exc)) from None
    target = None
    if is_sqlite(url):
        try:
            target = check_sqlite_query(url)
        except ValueError as exc:
            raise DatabaseUnusable(f"not a database URL: {exc}") from None
    if is_memory(url):
        raise DatabaseUnusable(
            f"{shown_url(url)} is a database in memory: each connection would see its own, "
            "and the history would be gone at exit. Name a file (sqlite:///PATH) or use "
            "--data-dir"
        )
    if path is None and not _is_text(url):  # a file's name may be any bytes
        raise DatabaseUnusable(
            "not a database URL: it is not UTF-8 text (a byte in another encoding?), and the "
            f"server's driver sends it as UTF-8; expected {URL_SHAPES}"
        )
    if "@" in host:  # not shown: it holds the rest of a password
        raise DatabaseUnusable(
            f"not a database URL: {shown_url(url)} has an @ after its user and password; "
            "a password holding @ (or :, /, ?, #) must be percent-encoded (%40 for @)"
        )
    if path is not None and target is not None:
        _refuse_unlocked(target, path)
        _refuse_read_only_uri(target, path, create=create)
    if path is not None:
        _refuse_unusable_file(path)
        if path.exists():
            _refuse_foreign(path)
        folder = path.parent
        if folder.exists() and not folder.is_dir():  # a FIFO, a device, a file as data_dir:
            # "no database at /dev/null/article-monitor.db (run the daemon first)",
            # or "cannot create the data directory …: File exists"
            raise DatabaseUnusable(
                f"the data directory {folder} is not a folder: --data-dir (data_dir) or "
                "--db must name where the database lives"
            )
        if not create and not path.exists():
            raise DatabaseUnusable(f"no database at {path} (run the daemon first)")
    try:
        if path is not None and not path.exists():
            # a dangling symlink: SQLite makes the file where it points, so the
            # start makes it there itself (and a failed start removes that one)
            made = Path(os.path.realpath(path)) if path.is_symlink() else path
            if _create_whole(made) and created:
                created(made)
        engine = make_engine(url, idle_in_transaction_ms=idle_in_transaction_ms)
    except sqlite3.Error as exc:
        raise DatabaseUnusable(explain(exc, url)) from None
    except OSError as exc:
        where = path.parent if path is not None else url
        raise DatabaseUnusable(
            f"cannot create the data directory {where}: {exc.strerror}"
        ) from None
    except (ArgumentError, ImportError) as exc:
        raise DatabaseUnusable(
            f"cannot use the database {shown_url(url)}: {first_line(exc)} "
            f"(SQLite and PostgreSQL through psycopg are supported: {URL_SHAPES})"
        ) from None
    if not verify:
        return engine
    try:
        check(engine, url)
    except BaseException:
        engine.dispose()
        raise
    return engine


def remove_unused(path: Path) -> bool:
    """Remove the SQLite file at `path` (and its -wal, -shm) if it holds nothing
    but a schema and nobody else has it open; say whether it was removed.

    For a start that made the file and then failed (a listen address in use, a
    bad CA bundle): it left a database behind that no start had recorded into.
    Leaving WAL mode takes the only connection to the file, so a process that
    opened it meanwhile keeps it; the file is removed under an exclusive lock.
    """
    if not path.is_file():  # connect would make one
        return False
    try:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        if conn.execute("PRAGMA journal_mode=DELETE").fetchone() != ("delete",):
            return False  # another connection has it open
        conn.execute("BEGIN EXCLUSIVE")
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if table == "alembic_version":
                continue
            quoted = '"' + table.replace('"', '""') + '"'
            if conn.execute(f"SELECT 1 FROM {quoted} LIMIT 1").fetchone() is not None:
                return False
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
            with contextlib.suppress(FileNotFoundError):
                path.with_name(name).unlink()
        return True
    except (sqlite3.Error, OSError):
        return False
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def check(engine: Engine, url: str) -> None:
    """Connect, and for SQLite run `PRAGMA quick_check`; raise DatabaseUnusable if unfit."""
    if engine.dialect.name != "sqlite":
        _server_answers(engine, url)
        return
    try:
        with engine.connect() as conn:
            # by read(2), not through a mapping: the start's progress (the bytes
            # read, daemon/notify.py) sees no page fault, and a SQLite built to map
            # files would have a long healthy check called stalled
            conn.exec_driver_sql("PRAGMA mmap_size=0")
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check")]
    except SQLAlchemyError as exc:
        raise unusable(exc, url) from None
    if rows != ["ok"]:
        shown = "; ".join(rows[:QUICK_CHECK_LINES])
        more = f" and {len(rows) - QUICK_CHECK_LINES} more" if len(rows) > QUICK_CHECK_LINES else ""
        where = str(sqlite_path(url) or shown_url(url))
        raise DatabaseUnusable(damaged_message(where, f"PRAGMA quick_check: {shown}{more}"))


def _server_answers(engine: Engine, url: str) -> None:
    """A session on the server, tried twice when the first failure's probe finds the
    server up (reachable.py): libpq refused at a boot, then the server came up before
    the probe asked, read as configuration, was exit 2, never restarted. A second
    failure is judged afresh; configuration fails both alike (one connect more)."""
    for last in (False, True):
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except SQLAlchemyError as exc:
            error = unusable(exc, url)
            if last or isinstance(error, DatabaseUnreachable):
                raise error from None


def refuse_read_only(engine: Engine, url: str) -> None:
    """Refuse a database this process may read but not write (a read-only or immutable
    SQLite file in a writable directory, a PostgreSQL standby or a role without
    write rights): the daemon started on it, then failed every heartbeat, scan and
    write. A write that changes nothing, rolled back, asks without touching it."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin() as tx:
                conn.execute(text("DELETE FROM alembic_version WHERE 1 = 0"))
                tx.rollback()
    except SQLAlchemyError as exc:  # a lock held past the wait, a server gone: 75 for run
        raise unusable(exc, url) from None


@dataclass(frozen=True)
class OpenedFile:
    """The SQLite file a daemon opened, by identity: deleted or replaced under it (a
    restore moved into place), SQLite writes on into the old file, kept open, and
    the history recorded since is lost when the daemon exits."""

    path: Path
    dev: int
    ino: int

    @classmethod
    def of(cls, url: str) -> OpenedFile | None:
        path = sqlite_path(url)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(path, st.st_dev, st.st_ino)

    def gone(self) -> str | None:
        """Why this file is no longer the one at its path; None while it is (or
        while that cannot be told: a stat failing for another reason)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            pass
        except OSError:
            return None
        else:
            if (st.st_dev, st.st_ino) == (self.dev, self.ino):
                return None
        return (
            f"{self.path} was deleted or replaced while the daemon ran; it recorded into "
            "the old file since, which is gone once it exits. Stopping: start it again to "
            "use the file now there (or a new one)"
        )
