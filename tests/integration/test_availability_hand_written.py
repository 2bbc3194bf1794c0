"""A target's availability read from rollups someone edited by hand: `history`
and the API leave out what this version never writes, with no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from support import status_db

from monitor.availability import DAY_MS
from monitor.cli import cli
from monitor.storage.repository import Repository
from monitor.storage.store import now_ms


def test_a_count_of_thousands_of_digits_is_left_out(tmp_path: Path) -> None:
    """A count past 4300 digits made int() raise ValueError: `history` printed a
    traceback, and the target's page and API call failed."""
    known = status_db.build(tmp_path / "am.db", n_targets=3)
    today = now_ms() // DAY_MS
    Repository(known.engine).store_rollups(
        [
            {"target_id": 1, "day": today - 3, "checks": 1, "counts": "0:" + "9" * 5000},
            {"target_id": 1, "day": today - 4, "checks": 1, "counts": "0:" + "9" * 20},
            {"target_id": 1, "day": today - 5, "checks": 4, "counts": "0:3 3:1"},
        ]
    )
    db = str(known.engine.url)
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--format", "json"])
    assert result.exception is None and result.exit_code == 0, result.output
    doc = json.loads(result.output)["targets"][0]["availability"]
    assert doc["30d"] == {"checks": 4, "up": 3, "ratio": 0.75}
