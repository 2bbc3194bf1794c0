"""`article-monitor cluster` on rows it did not write: a member row written by
hand (markup and terminal controls in the host name or id, times out of any
calendar's range) is printed as text, never a traceback."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade

WIDE = {"COLUMNS": "400"}


def _db(tmp_path: Path, **row: object) -> str:
    url = f"sqlite:///{tmp_path / 'am.db'}"
    engine = make_engine(url)
    upgrade(engine)
    values = {
        "id": "m1",
        "host": "box",
        "pid": 1,
        "version": "1",
        "started_at": 0,
        "heartbeat_at": 0,
        "view": None,
        "checks": 0,
        "rate": 0.0,
        "leader": False,
        **row,
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cluster_members (id, host, pid, version, started_at, heartbeat_at,"
                " view, checks, rate, leader) VALUES (:id, :host, :pid, :version, :started_at,"
                " :heartbeat_at, :view, :checks, :rate, :leader)"
            ),
            values,
        )
    engine.dispose()
    return url


def test_markup_and_controls_in_a_member_row_are_text(tmp_path: Path) -> None:
    db = _db(tmp_path, id="[/]\x1b[2J", host="[bold red]x[/]\x1b[31m\u202e", version="[/]")
    result = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", "table"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "[bold red]x[/]" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "\\x1b[31m" in result.output


def test_a_leader_id_with_markup_in_the_title_is_text(tmp_path: Path) -> None:
    db = _db(tmp_path, id="[/]")
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cluster_roles (role, holder, until, epoch, ran_at)"
                " VALUES ('maintenance', '[/]', 99999999999999, 0, NULL)"
            )
        )
    engine.dispose()
    result = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", "table"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "leader [/]" in result.output


def test_garbage_times_are_shown_not_raised(tmp_path: Path) -> None:
    db = _db(tmp_path, started_at=2**62, heartbeat_at=-(2**62), rate=1e300)
    for fmt in ("table", "json"):
        result = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", fmt])
        assert result.exit_code == 0, (fmt, result.output, result.exception)
        assert "Traceback" not in result.output
    data = json.loads(result.output)
    # shown as the nearest instant RFC 3339 writes (status.document.rfc3339), never as
    # none: a null read as "not started"
    assert data["list"][0]["started"] == "9999-12-31T23:59:59.999Z"


def test_a_heartbeat_ahead_of_the_clock_is_not_a_negative_age(tmp_path: Path) -> None:
    """A SQLite daemon's heartbeat is the machine's clock: one stepped back an hour
    since the beat showed `-3600.0s ago`. The table says how far ahead it is; the
    JSON keeps the number."""
    ahead = int(time.time() * 1000) + 3_600_000
    db = _db(tmp_path, heartbeat_at=ahead, started_at=ahead)
    table = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", "table"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert re.search(r"\b3[56]\d\d\.\ds from now", table.output), table.output
    assert "s ago" not in table.output and "-3" not in table.output
    shown = CliRunner().invoke(cli, ["cluster", "--db", db, "--format", "json"])
    (member,) = json.loads(shown.output)["list"]
    assert -3600 <= member["heartbeat_age_s"] < -3500
