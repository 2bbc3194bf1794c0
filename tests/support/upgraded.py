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
