"""SQLite's URI parameters where they open another database than the URL names
(session 16, G2): `sqlite:////x/h.db?mode=ro&uri=true` made SQLite open a new,
empty file named `h.db?mode=ro` (a `file:` name is needed): `status` and
`history` said "no schema yet", `db upgrade` migrated that file and `run`
recorded into it; `vfs=memdb` and `file:` with no path opened a database in
memory, gone at exit, and `immutable=1` read the file without its -wal (a
running daemon's history read as empty). Each is refused, saying what to write.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from support.cli import run_cli
from support.upgraded import upgraded_db

from monitor.storage.engine import check_sqlite_query
from monitor.storage.sqlite_uri import URL_DATABASE_DECODED, NotWhatItNames, file_url

COMMANDS = [("status",), ("history", "http://news.test/a/"), ("db", "upgrade"), ("run", "--once")]


def made(tmp_path: Path) -> Path:
    """A current database (db upgrade) and an empty corpus for `run`."""
    db = upgraded_db(tmp_path / "data" / "h.db")  # one `db upgrade`, copied
    (tmp_path / "corpus").mkdir()
    return db


def cli(tmp_path: Path, command: tuple[str, ...], url: str) -> str:
    """The one `Error:` line of a refused command (exit 2, no traceback)."""
    extra = ["corpus", "--listen", "127.0.0.1:0"] if command[0] == "run" else []
    out = run_cli(*command, *extra, "--db", url, cwd=tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, out.stderr
    return errors[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("query", ["mode=ro&uri=true", "uri=true&mode=ro", "mode=ro"])
def test_sqlite_parameters_without_a_file_name_are_refused_with_the_url_to_write(
    tmp_path: Path, command: tuple[str, ...], query: str
) -> None:
    db = made(tmp_path)
    before = sorted(p.name for p in db.parent.iterdir())
    said = cli(tmp_path, command, f"sqlite:///{db}?{query}")
    instead = f"sqlite:///file:{db}?mode=ro&uri=true"
    assert said.endswith(f"write {instead}"), said
    assert sorted(p.name for p in db.parent.iterdir()) == before  # no `h.db?mode=ro`
    if command == COMMANDS[0]:  # the same advice from every command: read once a query
        out = run_cli("status", "--db", instead, "--format", "json", cwd=tmp_path)
        assert out.returncode == 0, out.stderr  # what it says to write reads the file


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "name", ["file:{db}?vfs=memdb&uri=true", "file:?uri=true", "file:?mode=ro&uri=true"]
)
def test_a_uri_that_opens_a_database_in_memory_is_refused(
    tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    db = made(tmp_path)
    said = cli(tmp_path, command, "sqlite:///" + name.format(db=db))
    assert "is a database in memory" in said, said


@pytest.mark.parametrize("command", [("db", "upgrade"), ("run", "--once")])
@pytest.mark.parametrize("param", ["mode=ro", "immutable=1"])
def test_a_read_only_uri_is_refused_by_the_writers_before_anything_is_made(
    tmp_path: Path, command: tuple[str, ...], param: str
) -> None:
    made(tmp_path)
    new = tmp_path / "new" / "h.db"
    said = cli(tmp_path, command, f"sqlite:///file:{new}?{param}&uri=true")
    assert f"opens {new} read-only ({param})" in said, said
    assert not new.parent.exists()


def test_a_file_uri_names_the_file_status_looks_for(tmp_path: Path) -> None:
    made(tmp_path)
    missing = tmp_path / "none" / "h.db"
    said = cli(tmp_path, ("status",), f"sqlite:///file:{missing}?uri=true")
    assert said == f"Error: no database at {missing} (run the daemon first)"
    assert not missing.exists()  # SQLite made it empty, and status said "no schema yet"


def test_immutable_is_refused_while_a_write_ahead_log_holds_commits(tmp_path: Path) -> None:
    db = made(tmp_path)
    url = f"sqlite:///file:{db}?immutable=1&uri=true"
    writer = sqlite3.connect(db, isolation_level=None)  # a daemon's commits, not checkpointed
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE marker (x)")
        said = cli(tmp_path, ("status",), url)
        assert "ignores h.db-wal beside it" in said and "mode=ro reads both" in said, said
        out = run_cli("status", "--db", url.replace("immutable=1", "mode=ro"), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    finally:
        writer.close()  # the last connection: checkpointed, the -wal removed
    out = run_cli("status", "--db", url, "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(
    not URL_DATABASE_DECODED, reason="SQLAlchemy 2.0 gives SQLite %00 as written: no NUL"
)
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["{d}/a%00b.db", "file:{d}/a%2500b.db?uri=true"])
def test_a_nul_byte_in_the_name_is_refused(
    tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    # db upgrade: a ValueError traceback (embedded null byte); status: "no database at
    # /x/a" with the NUL printed, and SQLite cuts a file: name at its %00
    made(tmp_path)
    said = cli(tmp_path, command, "sqlite:///" + name.format(d=tmp_path))
    assert "NUL byte (%00)" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_check_same_thread_true_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    # run: every statement of its database threads failed, a traceback logged at
    # each (SQLAlchemy's pool), then exit 2 with the driver's thread ids
    db = made(tmp_path)
    said = cli(tmp_path, command, f"sqlite:///{db}?check_same_thread=true")
    assert said.endswith(
        "its ?check_same_thread=true: article-monitor uses a connection from "
        "more than one thread (the daemon's database work, SQLAlchemy's pool); "
        "leave it out"
    ), said


# -- the rule against SQLite itself: which file does it open?

NAMES = st.text(alphabet="abcxyz019 _-.%", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
VALUES = ["ro", "rw", "rwc", "memory", "shared", "private", "0", "1", "yes", "off"]
SQLITE_PARAMS = st.dictionaries(
    st.sampled_from(["mode", "cache", "immutable", "vfs", "psow", "nolock"]),
    st.sampled_from([*VALUES, "unix", "memdb", "unix-none"]),
    max_size=3,
)
# pysqlite's: uri=true most often, so that SQLite's own parameters are read
DRIVER = st.fixed_dictionaries(
    {},
    optional={
        "uri": st.sampled_from(["true", "true", "true", "false", "1", "ro"]),
        "timeout": st.sampled_from(["0", "2"]),
    },
)
PARAMS = st.builds(lambda own, driver: {**own, **driver}, SQLITE_PARAMS, DRIVER)
FORMS = st.sampled_from(
    ["{p}", "file:{q}", "file:{q}", "file://{q}", "file://localhost{q}", "file://x{q}", "file:"]
)


def writes(conn: sqlite3.Connection) -> bool:
    """Whether a write to the marked table goes through (rolled back)."""
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO marker VALUES (1)")
    except sqlite3.Error:
        return False
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return True


def opened(url: str) -> tuple[bool, str, bool] | None:
    """What SQLite opens given what pysqlite gets for `url`: whether it is the marked
    file, the main database's file name (`PRAGMA database_list`), and whether it
    takes a write; None if it opens nothing."""
    parsed = make_url(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args, opts = parsed.get_dialect()().create_connect_args(parsed)
    try:
        conn = sqlite3.connect(*args, **opts)
    except (sqlite3.Error, ValueError):  # ValueError: a NUL in the name
        return None
    try:
        marked = "SELECT count(*) FROM sqlite_master WHERE name = 'marker'"
        seen = conn.execute(marked).fetchone()[0] == 1
        return seen, str(conn.execute("PRAGMA database_list").fetchone()[2]), writes(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


@given(NAMES, FORMS, PARAMS)
@settings(max_examples=800, deadline=None)
def test_the_file_said_is_the_file_sqlite_opens(
    name: str, form: str, params: dict[str, str]
) -> None:
    """Accepted: the path said is the file SQLite opens, or a database in memory
    (where SQLite does not find the marked file). Refused for opening another
    file: SQLite indeed does not open the marked one."""
    with tempfile.TemporaryDirectory() as folder:
        cwd = os.getcwd()
        os.chdir(folder)  # a relative name or a stray file lands here, and goes with it
        try:
            path = Path(folder) / name
            marked = sqlite3.connect(path)
            marked.execute("CREATE TABLE marker (x)")
            marked.commit()
            marked.close()
            database = form.format(p=path, q=quote(str(path)))
            query = "&".join(f"{k}={v}" for k, v in params.items())
            url = f"sqlite:///{database}" + (f"?{query}" if query else "")
            try:
                target = check_sqlite_query(url)
            except NotWhatItNames:
                event("refused: another database")
                ignored = set(params) - {"uri", "timeout"} and params.get("uri") not in (
                    "true",
                    "1",
                )
                if not ignored or database.startswith("file:"):
                    seen = opened(url)
                    assert seen is None or not seen[0], url
                return
            except ValueError:  # the driver cannot read it (uri=ro...): said as before
                return
            seen = opened(url)
            event(f"memory={target.memory} seen={seen and seen[0]} ro={target.read_only}")
            if target.memory:
                assert seen is None or not seen[0], url
                return
            assert target.path is not None
            if seen is not None:
                assert seen[1] == os.path.realpath(target.path), url
                if seen[0]:  # what SQLite lets write is what the rule calls writable
                    assert seen[2] == (target.read_only is None), url
            if os.path.abspath(target.path) == str(path):
                assert seen is None or seen[0], url
        finally:
            os.chdir(cwd)


@given(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1)
)
@settings(max_examples=300, deadline=None)
def test_the_url_said_to_write_opens_the_file_named(name: str) -> None:
    """The file: URL suggested (and the immutable read's) opens the very path: a `?`,
    `#` or `%` in it, quoted once, cut or changed the name SQLite got."""
    path = "/data/" + name
    assert check_sqlite_query(file_url(path, {"mode": "ro"})).path == path


# -- parameters that turn SQLite's locking off (session 16, G6)

UNLOCKING = ["nolock=1", "nolock=yes", "vfs=unix-none", "vfs=unix-dotfile"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("param", UNLOCKING)
def test_a_uri_that_turns_locking_off_is_refused(
    tmp_path: Path, command: tuple[str, ...], param: str
) -> None:
    """The daemon's connections (the writer, the claims, the status reads) and the
    other commands keep out of each other's way by SQLite's locks: one without them
    writes over the others' pages, or reads a half-written one."""
    db = made(tmp_path)
    before = db.read_bytes()
    said = cli(tmp_path, command, f"sqlite:///file:{db}?{param}&uri=true")
    assert f"turns SQLite's locking off ({param})" in said, said
    assert said.endswith(f"leave {param} out"), said
    assert db.read_bytes() == before


@pytest.mark.parametrize("param", ["nolock=0", "nolock=256", "vfs=unix", "vfs=unix-excl"])
def test_a_uri_that_keeps_locking_is_read(tmp_path: Path, param: str) -> None:
    db = made(tmp_path)
    out = run_cli("status", "--db", f"sqlite:///file:{db}?{param}&uri=true", cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def locks_off(path: Path, query: str) -> bool | None:
    """Whether a connection opened with `query` writes while another, on SQLite's
    default VFS, holds the file's exclusive lock; None if SQLite opens nothing."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        try:
            probe = sqlite3.connect(
                f"file:{path}?{query}", uri=True, timeout=0, isolation_level=None
            )
        except sqlite3.Error:  # no such VFS
            return None
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


LOCK_VALUES = st.one_of(
    st.sampled_from(["0", "1", "on", "off", "yes", "no", "true", "TRUE", "full", "", "x"]),
    st.integers(0, 2**40).map(str),
    st.integers(0, 300).map(lambda n: f"00{n}x"),
)


@settings(max_examples=200, deadline=None)
@given(
    nolock=st.none() | LOCK_VALUES,
    vfs=st.none() | st.sampled_from(["unix", "unix-excl", "unix-none", "unix-dotfile"]),
)
def test_the_locking_said_off_is_the_locking_sqlite_turns_off(
    nolock: str | None, vfs: str | None
) -> None:
    params = {k: v for k, v in (("nolock", nolock), ("vfs", vfs)) if v is not None}
    url = file_url("/db", params)
    target = check_sqlite_query(url)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.db"
        sqlite3.connect(path).close()
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        off = locks_off(path, query)
    assert off is not None
    event(f"off={off}")
    assert (target.unlocked is not None) == off, (params, target.unlocked)
