"""`history --limit N` with a limit no query can take: a usage error (exit 2),
never a traceback (a number beyond SQLite's INTEGER raised OverflowError) nor
every result ever kept (SQLite reads LIMIT -1 as no limit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import status_db

from monitor.cli import cli


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(status_db.build(tmp_path / "am.db", n_targets=3).engine.url)


@pytest.mark.parametrize("limit", ["-1", "99999999999999999999999", "100001"])
def test_a_limit_out_of_range_is_a_usage_error(db: str, limit: str) -> None:
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--limit", limit])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "--limit" in result.output


def test_a_limit_in_range_is_taken(db: str) -> None:
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--limit", "0"])
    assert result.exit_code == 0, result.output
