"""Migration 0010 met by several starts at once on one database at 0009 (a
cluster's members restarted together after an upgrade, or a service manager
that starts two). Each start must succeed, and the flag follow the schedule."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from support.pg import pg_engine

from monitor.storage.engine import make_engine
from monitor.storage.migrate import HEAD, current_revision, upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """Three engines (each its own pool, as three processes would have) on one database."""
    if request.param == "sqlite":
        engines = [make_engine(f"sqlite:///{tmp_path / 'am.db'}") for _ in range(3)]
        yield engines
        for e in engines:
            e.dispose()
    else:
        made = pg_engine()
        first = next(made)
        others = [make_engine(first.url) for _ in range(2)]
        yield [first, *others]
        for e in others:
            e.dispose()
        made.close()


def test_starts_at_once_on_a_0009_database_all_succeed(url_engines: list[Engine]) -> None:
    first = url_engines[0]
    upgrade(first, "0009")
    with first.begin() as conn:
        for tid in range(1, 401):
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, state, fails, succs, next_due,"
                    " last_problems) VALUES (:i, :u, 'web', 'up', 0, 0, :d, '')"
                ),
                {"i": tid, "u": f"https://n.test/{tid}", "d": None if tid % 4 else tid},
            )
    errors: list[BaseException] = []
    go = threading.Barrier(len(url_engines))

    def start(engine: Engine) -> None:
        try:
            go.wait()
            upgrade(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in url_engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert current_revision(first) == HEAD
    with first.connect() as conn:
        drift = conn.scalar(
            text("SELECT count(*) FROM targets WHERE (active IS NULL) <> (next_due IS NULL)")
        )
        active = conn.scalar(text("SELECT count(*) FROM targets WHERE active = 1"))
    assert (drift, active) == (0, 100)
