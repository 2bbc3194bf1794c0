"""Migration 0012: `cluster_members.rules` (each member's rules' digest), every member
row kept and none given a digest; the downgrade drops the column alone, and the
upgrade runs again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from monitor.storage.migrate import _config, upgrade

MEMBERS = [("m1", "box-1"), ("m2", "box-2")]


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text(sql)))


def columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("cluster_members")}


def test_0012_adds_the_rules_digest_and_keeps_every_member(engine: Engine) -> None:
    upgrade(engine, "0011")
    with engine.begin() as conn:
        for member, host in MEMBERS:
            conn.execute(
                text(
                    "INSERT INTO cluster_members (id, host, pid, version, started_at,"
                    " heartbeat_at, view, checks, rate, leader)"
                    " VALUES (:i, :h, 7, '1', 1, 2, NULL, 3, 0.5, false)"
                ),
                {"i": member, "h": host},
            )
    before = rows(engine, "SELECT id, host, pid, checks FROM cluster_members")

    upgrade(engine)
    # a row of a version before 0012 has no digest: it is not compared
    assert rows(engine, "SELECT id, rules FROM cluster_members") == [("m1", None), ("m2", None)]
    assert rows(engine, "SELECT id, host, pid, checks FROM cluster_members") == before
    with engine.begin() as conn:
        conn.execute(text("UPDATE cluster_members SET rules = :r"), {"r": "a" * 64})

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    assert "rules" not in columns(engine)
    assert rows(engine, "SELECT id, host, pid, checks FROM cluster_members") == before

    upgrade(engine)  # and up again
    assert "rules" in columns(engine)
    assert rows(engine, "SELECT id, rules FROM cluster_members") == [("m1", None), ("m2", None)]
