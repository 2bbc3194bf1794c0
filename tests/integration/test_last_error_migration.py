"""Migration 0014: `targets.last_error` and `transitions.error` (why a target is
down), NULL on every row kept; the downgrade drops both columns alone, and the
upgrade runs again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(sql)))


def columns(engine: Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def test_0014_keeps_every_row_without_an_error_and_goes_down_and_up(engine: Engine) -> None:
    upgrade(engine, "0013")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, state, fails, succs, next_due,"
                " last_outcome, last_problems, active) VALUES"
                " (1, 'https://a.test/', 'web', 'down', 3, 0, 5, 'connection_error', '', 1),"
                " (2, 'https://b.test/', 'web', 'up', 0, 1, 6, 'ok', '', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO transitions (target_id, at, from_state, to_state, outcome,"
                " problems) VALUES (1, 7, 'up', 'down', 'connection_error', '')"
            )
        )
    kept_targets = "SELECT id, url, state, last_outcome FROM targets"
    kept_transitions = "SELECT target_id, at, from_state, to_state, outcome FROM transitions"
    before = rows(engine, kept_targets), rows(engine, kept_transitions)

    upgrade(engine)
    assert rows(engine, "SELECT id, last_error FROM targets") == [(1, None), (2, None)]
    assert rows(engine, "SELECT target_id, error FROM transitions") == [(1, None)]
    with engine.begin() as conn:
        conn.execute(text("UPDATE targets SET last_error = 'connection refused' WHERE id = 1"))
        conn.execute(text("UPDATE transitions SET error = 'connection refused'"))
    assert rows(engine, "SELECT id, last_error FROM targets")[0] == (1, "connection refused")

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    assert "last_error" not in columns(engine, "targets")
    assert "error" not in columns(engine, "transitions")
    assert (rows(engine, kept_targets), rows(engine, kept_transitions)) == before
    upgrade(engine)  # and up again
    assert rows(engine, "SELECT id, last_error FROM targets") == [(1, None), (2, None)]
