"""Migration 0015: `ix_targets_active_state` dropped (half a first start's database
writes, bench/README.md's twenty-second session), every row kept; the snapshot's
counts still read through the other status indexes; the downgrade makes it again,
and the upgrade runs again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade
from monitor.storage.repository import Repository


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(sql)))


def indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {str(i["name"]) for i in inspect(conn).get_indexes("targets")}


def test_0015_drops_the_index_keeps_every_row_and_goes_down_and_up(engine: Engine) -> None:
    upgrade(engine, "0014")
    assert "ix_targets_active_state" in indexes(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, provider, state, fails, succs, next_due,"
                " last_outcome, last_problems, active) VALUES"
                " (1, 'https://a.test/', 'web', 'A', 'down', 3, 0, 5, 'connection_error', '', 1),"
                " (2, 'https://b.test/', 'image', 'A', 'up', 0, 1, 6, 'ok', '', 1),"
                " (3, 'https://c.test/', 'web', 'B', 'down', 1, 0, 7, 'http_error', '', 1),"
                " (4, 'https://d.test/', 'web', 'B', 'up', 0, 0, NULL, 'ok', '', NULL)"
            )
        )
    every = "SELECT id, url, kind, provider, state, next_due, last_outcome, active FROM targets"
    before = rows(engine, every)

    upgrade(engine)
    assert "ix_targets_active_state" not in indexes(engine)
    assert {"ix_targets_list_state", "ix_targets_list_kind"} <= indexes(engine)
    assert rows(engine, every) == before
    snap = Repository(engine).snapshot()  # the metrics' counts, read without it
    assert snap.targets == {("web", "down"): 2, ("image", "up"): 1}
    assert snap.provider_down == {"A": 1, "B": 1}

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    assert "ix_targets_active_state" in indexes(engine)
    assert rows(engine, every) == before
    upgrade(engine)  # and up again
    assert "ix_targets_active_state" not in indexes(engine)
