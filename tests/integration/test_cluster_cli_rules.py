"""`article-monitor cluster` shows each member's rules' digest (its start) and says
when live members' differ, in text and JSON; a member of a version that publishes
none (NULL) and a dead member are not compared."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.store import now_ms

WIDE = {"COLUMNS": "400"}
ONE, TWO = "1" * 64, "2" * 64


def _db(tmp_path: Path, *members: tuple[str, str | None, bool]) -> str:
    """Member rows (id, rules digest, alive: a heartbeat now or a day ago)."""
    url = f"sqlite:///{tmp_path / 'am.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = now_ms()
    with engine.begin() as conn:
        for member, rules, alive in members:
            conn.execute(
                text(
                    "INSERT INTO cluster_members (id, host, pid, version, started_at,"
                    " heartbeat_at, view, checks, rate, leader, rules) VALUES (:id, 'box', 1,"
                    " '1', :at, :at, NULL, 0, 0.0, 0, :rules)"
                ),
                {"id": member, "at": now if alive else now - 3_600_000, "rules": rules},
            )
    engine.dispose()
    return url


def _cluster(db: str, fmt: str) -> str:
    result = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", fmt], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_members_with_other_rules_are_shown_differing(tmp_path: Path) -> None:
    db = _db(tmp_path, ("m1", ONE, True), ("m2", TWO, True))
    data = json.loads(_cluster(db, "json"))
    assert data["rules_differ"] is True
    assert {m["id"]: m["rules"] for m in data["list"]} == {"m1": "1" * 12, "m2": "2" * 12}
    table = _cluster(db, "table")
    assert "rules differ between members" in table
    assert "1" * 12 in table and "2" * 12 in table


def test_the_same_rules_an_older_member_or_a_dead_one_do_not_differ(tmp_path: Path) -> None:
    db = _db(tmp_path, ("m1", ONE, True), ("m2", ONE, True), ("m3", None, True), ("m4", TWO, False))
    data = json.loads(_cluster(db, "json"))
    assert data["rules_differ"] is False
    assert {m["id"]: m["rules"] for m in data["list"]}["m3"] is None
    table = _cluster(db, "table")
    assert "rules differ" not in table
