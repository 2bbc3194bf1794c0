"""A new SQLite database appears whole, and starts on one new file at once all
succeed (hostile review of the database's life).

Two daemons (or a daemon and `db upgrade`) started together on a new file:
SQLite creates the file empty and writes its header a moment later, and the
other start, finding 0 bytes there, refused it as a truncated database
("restore it from a backup"); or both read the empty schema, and the second to
write failed at once with `database is locked`.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.pg import pg_engine

from monitor.storage.engine import make_engine
from monitor.storage.migrate import HEAD, current_revision, upgrade
from monitor.storage.opening import DatabaseUnusable, open_database, refuse_read_only

STARTS = 4
ROUNDS = 3


def test_a_new_database_file_is_never_seen_empty(tmp_path: Path) -> None:
    path = tmp_path / "data" / "am.db"
    engine = open_database(f"sqlite:///{path}", create=True, verify=False)
    engine.dispose()
    # made whole before anyone could see it: a SQLite header, in WAL mode
    head = path.read_bytes()[:20]
    assert head[:16] == b"SQLite format 3\x00" and head[18:20] == b"\x02\x02"
    assert sorted(p.name for p in path.parent.iterdir()) == ["am.db"]  # nothing left beside it
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_existing_database_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "am.db"
    with sqlite3.connect(path) as conn:
        # a table of the monitor's: a file with none is another program's, refused
        conn.execute("CREATE TABLE targets (x INTEGER)")
    open_database(f"sqlite:///{path}", create=True, verify=False).dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_schema").fetchall() == [("targets",)]


_START = """
import sys
from pathlib import Path
from monitor.storage.migrate import upgrade
from monitor.storage.opening import DatabaseUnusable, open_database
import time
go = Path(sys.argv[2])
while not go.exists():  # started together, as far as the test can make them
    time.sleep(0.001)
try:
    engine = open_database(sys.argv[1], create=True)
    upgrade(engine)
    print("ok")
except DatabaseUnusable as exc:
    print(f"refused: {exc}")
"""


def test_starts_at_once_on_one_new_file_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / str(round_) / "am.db"
        go = tmp_path / f"go{round_}"
        url = f"sqlite:///{path}"
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", _START, url, str(go)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(STARTS)
        ]
        go.touch()
        said = [p.communicate(timeout=120)[0].strip() for p in starts]
        assert said == ["ok"] * STARTS
        engine = open_database(url, create=False)
        assert current_revision(engine) == HEAD
        engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_that_only_reads_is_refused_for_the_daemon() -> None:
    # a standby, or default_transaction_read_only: the daemon must not start on it
    for engine in pg_engine():
        upgrade(engine)
        refuse_read_only(engine, str(engine.url))  # writable: nothing said
        url = engine.url.render_as_string(hide_password=False)
        reader = make_engine(
            url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20")
        )
        try:
            with pytest.raises(DatabaseUnusable, match="read-only transaction"):
                refuse_read_only(reader, url)
        finally:
            reader.dispose()
