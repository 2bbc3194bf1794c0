"""A reader that holds one read transaction open on the daemon's SQLite file (a
`sqlite3` shell left in BEGIN, a slow reader) keeps every checkpoint from copying
the WAL back: the daemon says so, and once the reader goes the WAL file shrinks
back instead of keeping its largest size for good."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.storage import engine as engine_module
from monitor.storage import store as store_module
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

LIMIT = 64 * 1024


def churn(repo: Repository, rows: int) -> None:
    """Write and drop `rows` results: WAL pages, no growth of the database."""
    with repo._write() as conn:
        conn.execute(
            text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (1, :at, 0)"),
            [{"at": i} for i in range(rows)],
        )
        conn.execute(text("DELETE FROM check_results"))


def test_a_long_reader_is_reported_and_the_wal_shrinks_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine_module, "JOURNAL_SIZE_LIMIT_BYTES", LIMIT)
    monkeypatch.setattr(store_module, "WAL_STUCK_PAGES", 50)
    path = tmp_path / "am.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    repo = Repository(engine)
    wal = Path(f"{path}-wal")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meta").fetchall()
        caplog.set_level(logging.INFO, logger="monitor.storage.store")
        left = [0]
        for _ in range(10):
            churn(repo, 5000)
            left.append(repo.checkpoint())
        assert left[-1] > 50 and left == sorted(left)  # held back, growing
        assert wal.stat().st_size > 4 * LIMIT
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "long read transaction" in warned[0].getMessage()
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert repo.checkpoint() == 0
    churn(repo, 10)  # the next writer restarts the WAL from its start, and cuts it
    repo.checkpoint()
    assert wal.stat().st_size <= LIMIT
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "the WAL is checkpointed again"
    ]
    engine.dispose()
