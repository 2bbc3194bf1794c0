"""Migration 0010: `targets.active` is set from the schedule, and goes back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade
from monitor.storage.repository import Repository


def index_predicates(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        found = inspect(conn).get_indexes("targets")
    out = {}
    for ix in found:
        where = ix.get("dialect_options", {})
        out[str(ix["name"])] = str(where.get("sqlite_where", where.get("postgresql_where", "")))
    return out


def test_targets_scheduled_before_0010_are_active_after_it_and_the_downgrade_undoes_it(
    engine: Engine,
) -> None:
    upgrade(engine, "0009")
    with engine.begin() as conn:
        for tid, due in [(1, 5000), (2, None), (3, 7000), (4, None)]:
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, provider, state, fails, succs,"
                    " next_due, last_problems) VALUES (:i, :u, 'web', 'p', :s, 0, 0, :d, :pr)"
                ),
                {"i": tid, "u": f"https://n.test/{tid}", "s": "down" if tid < 3 else "up",
                 "d": due, "pr": "slow_response" if tid in (1, 2) else ""},
            )  # fmt: skip
            if due is not None:
                conn.execute(
                    text("INSERT INTO due_queue (due, target_id) VALUES (:d, :i)"),
                    {"d": due, "i": tid},
                )
    upgrade(engine)
    with engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT id, active FROM targets")).all())
    assert flags == {1: 1, 2: None, 3: 1, 4: None}
    repo = Repository(engine)
    snap = repo.snapshot()  # the active targets only, through the new indexes
    assert snap.targets == {("web", "down"): 1, ("web", "up"): 1}
    assert snap.problems == {"slow_response": 1} and snap.provider_down == {"p": 1}
    assert repo.active_targets() == 2
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    with engine.connect() as conn:
        assert "active" not in {c["name"] for c in inspect(conn).get_columns("targets")}
    old = index_predicates(engine)
    assert all("active" not in where for where in old.values())
    assert sum("next_due" in where for where in old.values()) == 5
    upgrade(engine)
    assert Repository(engine).snapshot() == snap
