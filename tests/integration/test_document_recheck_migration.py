"""Migration 0011: `documents.recheck_at`, the files stored with a clock's finding due
at once, every row kept; the downgrade drops the column alone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade

DOCS = {"/c/ahead.json": 2, "/c/plain.json": 1, "/c/empty.json": 0}
ARTICLES = [  # id, source, problems (codes joined by spaces, as stored)
    ("a1", "/c/ahead.json", "missing_field published_in_future"),
    ("a2", "/c/ahead.json", ""),
    ("p1", "/c/plain.json", "missing_field"),
]


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(sql)))


def test_0011_makes_the_files_with_a_future_date_due_and_keeps_every_row(
    engine: Engine,
) -> None:
    upgrade(engine, "0010")
    with engine.begin() as conn:
        for path, n in DOCS.items():
            conn.execute(
                text(
                    "INSERT INTO documents (path, mtime_ns, size, sha256, articles, invalid,"
                    " scanned_at) VALUES (:p, 5, 6, 'h', :n, 0, 7)"
                ),
                {"p": path, "n": n},
            )
        for aid, source, problems in ARTICLES:
            conn.execute(
                text(
                    "INSERT INTO articles (id, source, line, web_url, content_hash, problems,"
                    " signature_status, signature_fields, updated_at)"
                    " VALUES (:i, :s, 1, 'https://n.test/', 'c', :pr, 'unsigned', '', 7)"
                ),
                {"i": aid, "s": source, "pr": problems},
            )
    docs_before = rows(engine, "SELECT path, mtime_ns, size, sha256, articles FROM documents")
    articles_before = rows(engine, "SELECT id, source, problems FROM articles")

    upgrade(engine)
    assert rows(engine, "SELECT path, recheck_at FROM documents") == [
        ("/c/ahead.json", 0),  # read again by the first pass
        ("/c/empty.json", None),
        ("/c/plain.json", None),
    ]
    assert rows(engine, "SELECT path, mtime_ns, size, sha256, articles FROM documents") == (
        docs_before
    )
    assert rows(engine, "SELECT id, source, problems FROM articles") == articles_before

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("documents")}
    assert "recheck_at" not in columns
    assert rows(engine, "SELECT path, mtime_ns, size, sha256, articles FROM documents") == (
        docs_before
    )
    upgrade(engine)  # and up again
    assert rows(engine, "SELECT path, recheck_at FROM documents")[0] == ("/c/ahead.json", 0)
