"""The start's database check reads the SQLite file with read(2), which the
start's measure of progress counts (hostile review).

`run`'s /healthz and its systemd start timeout call a start alive while the
bytes the process read (/proc/self/io `rchar`, daemon/notify.py) move. A
memory-mapped database is read by page faults, which that count never sees:
with a SQLite built to map files (SQLITE_DEFAULT_MMAP_SIZE), a healthy check
of an 870 MB file read 8 KB by that count (1.28 GB unmapped), and would be
called stalled after 60 s and restarted by the liveness probe. The check now
turns the mapping off.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from monitor.daemon.notify import bytes_read
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.opening import check

ROWS = 2_000
ROW_BYTES = 4_000  # an 8 MB file


def _database(tmp_path: Path) -> Path:
    db = tmp_path / "article-monitor.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (b BLOB)")
    blobs = ((os.urandom(ROW_BYTES),) for _ in range(ROWS))
    conn.executemany("INSERT INTO filler VALUES (?)", blobs)
    conn.commit()
    conn.close()
    return db


def test_the_check_of_a_mapped_database_is_counted_as_read(tmp_path: Path) -> None:
    if bytes_read() is None:
        pytest.skip("no /proc/self/io here")
    db = _database(tmp_path)
    url = f"sqlite:///{db}"
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _mapped(dbapi_connection: Any, _record: Any) -> None:
        # stands for a SQLite whose default maps the file
        dbapi_connection.execute("PRAGMA mmap_size=1073741824")

    try:
        before = bytes_read()
        check(engine, url)
        after = bytes_read()
    finally:
        engine.dispose()
    assert before is not None and after is not None
    assert after - before >= db.stat().st_size  # before: ~8 KB, the header's reads
