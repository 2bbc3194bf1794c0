"""A check result whose outcome code this version does not know (written by a newer
member sharing the database, OUTCOME_CODES being append-only, or by hand): `history`,
the target's page and its API call leave it out of the recent results, and count it
as a check that was not up, rather than fail on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert
from support import status_db
from support.status_http import DIALECTS, get, get_json, known_db, running

from monitor.cli import cli
from monitor.storage.store import RESULTS, now_ms

UNKNOWN = 99  # no outcome has this code (monitor/storage/tables.py, OUTCOME_CODES)


@pytest.fixture(
    params=[
        pytest.param(d, marks=[pytest.mark.postgres] if d == "postgres" else []) for d in DIALECTS
    ]
)
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[status_db.Known]:
    """Target 1 (up, three ok results at T0) with one newer result of code UNKNOWN."""
    for known in known_db(request.param, tmp_path):
        with known.engine.begin() as conn:
            conn.execute(
                insert(RESULTS),
                [{"target_id": 1, "checked_at": now_ms() - 60_000, "outcome": UNKNOWN}],
            )
        yield known


def test_history_leaves_it_out_of_the_results_and_counts_it_not_up(
    known: status_db.Known,
) -> None:
    db = known.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--format", "json"])
    # before: "internal error (KeyError: 99)", a traceback, exit 70
    assert result.exception is None and result.exit_code == 0, result.output
    target = json.loads(result.output)["targets"][0]
    assert [r["outcome"] for r in target["results"]] == ["ok", "ok", "ok"]
    assert target["availability"]["24h"] == {"checks": 1, "up": 0, "ratio": 0.0}
    table = CliRunner().invoke(cli, ["history", "1", "--db", db, "--format", "table"])
    assert table.exception is None and table.exit_code == 0, table.output


async def test_the_api_and_the_page_answer_it(known: status_db.Known) -> None:
    async with running(known) as srv:
        # before: 500 "internal error" (KeyError) for both
        doc = await get_json(srv, "/api/v1/targets/1")
        assert [r["outcome"] for r in doc["results"]] == ["ok", "ok", "ok"]
        assert doc["availability"]["24h"] == {"checks": 1, "up": 0, "ratio": 0.0}
        status, body, _ = await get(srv, "/targets/1")
        assert status == 200, body
