"""A database at its head for tests that refuse or read one: `db upgrade` run once
per worker, then its file copied for each test (a copy is the same bytes as a new
`db upgrade` makes: it left no -wal or -journal beside it). A test of `db upgrade`
itself runs the command; these only need its result, and a child per test cost a
second of a worker's time each."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from support.cli import run_cli


@cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="upgraded-"))
    atexit.register(shutil.rmtree, folder, True)
    db = folder / "h.db"
    out = run_cli("db", "upgrade", "--db", f"sqlite:///{db}", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert [p.name for p in folder.iterdir()] == ["h.db"], list(folder.iterdir())
    return db


def upgraded_db(db: Path) -> Path:
    """A database at its head at `db` (its folder made if need be), as `db upgrade`
    leaves it; returns `db`."""
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(), db)
    return db


@cache
def _migrated_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="migrated-"))
    atexit.register(shutil.rmtree, folder, True)
    db = folder / "am.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection: checkpointed, no -wal left
    assert [p.name for p in folder.iterdir()] == ["am.db"], list(folder.iterdir())
    return db


def migrated_db(db: Path) -> Path:
    """A SQLite file at `db` as `upgrade(make_engine(...))` leaves a new one, for a
    property that wants a fresh database per example (a migration each was most of
    an example's time); returns `db`."""
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_template(), db)
    return db
