"""Migration 0013: `documents.excluded` (what `exclude_urls` left out of each file),
every row kept and counted 0; the downgrade drops the column alone, and the
upgrade runs again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade
from monitor.storage.repository import Repository

DOCS = {"/c/one.json": 2, "/c/two.json": 0}


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(sql)))


def test_0013_counts_every_file_zero_and_goes_down_and_up(engine: Engine) -> None:
    upgrade(engine, "0012")
    with engine.begin() as conn:
        for path, n in DOCS.items():
            conn.execute(
                text(
                    "INSERT INTO documents (path, mtime_ns, size, sha256, articles, invalid,"
                    " scanned_at, recheck_at) VALUES (:p, 5, 6, 'h', :n, 1, 7, NULL)"
                ),
                {"p": path, "n": n},
            )
    kept = "SELECT path, mtime_ns, size, sha256, articles, invalid FROM documents"
    before = rows(engine, kept)

    upgrade(engine)
    assert rows(engine, "SELECT path, excluded FROM documents") == [
        ("/c/one.json", 0),
        ("/c/two.json", 0),
    ]
    assert Repository(engine).excluded_targets() == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE documents SET excluded = articles + 1"))
    assert Repository(engine).excluded_targets() == 4
    assert Repository(engine).snapshot().excluded_targets == 4

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    with engine.connect() as conn:
        assert "excluded" not in {c["name"] for c in inspect(conn).get_columns("documents")}
    assert rows(engine, kept) == before
    upgrade(engine)  # and up again
    assert rows(engine, "SELECT path, excluded FROM documents")[0] == ("/c/one.json", 0)
