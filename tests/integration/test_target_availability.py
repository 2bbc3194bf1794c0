"""A target's availability over 24 h, 7 d and 30 d, read from a real database whose
results were rolled up and purged by the maintenance's own functions (retention
cutting a day in two), then shown by the API, the target page and `history`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert
from support import status_db
from support.pg import pg_engine
from support.status_http import get, get_json, running

from monitor.availability import DAY_MS, Share
from monitor.cli import cli
from monitor.daemon.maintenance import roll_up
from monitor.storage import partitions
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import RESULTS, ROLLUPS, Repository
from monitor.storage.store import now_ms

HOUR = 3_600_000
DAY = 20_400  # 2025-11-08, days since the epoch
NOW = DAY * DAY_MS + 12 * HOUR + HOUR // 2  # 12:30 UTC


def hourly(now: int, hours: int, target: int = 1) -> list[dict[str, int]]:
    """A result an hour for `hours` hours back from half an hour before `now`;
    every 10th (k = 0, 10, …) an http_error (code 3), the rest ok (code 0)."""
    return [
        {
            "target_id": target,
            "checked_at": now - HOUR // 2 - k * HOUR,
            "outcome": 3 if k % 10 == 0 else 0,
            "latency_ms": 50,
        }
        for k in range(hours)
    ]


def expected(last_k: int) -> Share:
    """The results k = 0 … last_k of `hourly`."""
    ks = range(last_k + 1)
    return Share(len(ks), sum(1 for k in ks if k % 10))


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    for eng in pg_engine():
        upgrade(eng)
        with eng.begin() as conn:  # the days' partitions, as the leader makes them
            partitions.ensure(conn, NOW, first_day=DAY - 41)
        yield eng


def test_rollups_stand_for_purged_days_and_no_day_counts_twice(engine: Engine) -> None:
    """40 days of hourly results, each finished day rolled up, then results older
    than 5 days purged at 12:00 UTC (SQLite's purge cuts a day in two). Days with
    both a rollup and results count once; the purged half-day counts from its rollup;
    each window's partial first day counts from results alone (here purged)."""
    with engine.begin() as conn:
        conn.execute(insert(RESULTS), hourly(NOW, 40 * 24))
        conn.execute(insert(RESULTS), hourly(NOW, 1, target=2)[0] | {"outcome": 5})
    repo = Repository(engine)
    assert roll_up(repo, NOW, 365, NOW) == (40, 40)  # target 2's one result is today's
    cutoff = NOW - HOUR // 2 - 5 * DAY_MS  # (DAY - 5) at 12:00
    assert repo.purge_results(cutoff) == 40 * 24 - 121
    with engine.connect() as conn:  # the cut day: half its results, a whole rollup
        assert (
            conn.execute(ROLLUPS.select().where(ROLLUPS.c.target_id == 1, ROLLUPS.c.day == DAY - 5))
            .one()
            .checks
            == 24
        )
    shares = repo.availability(1, NOW)
    # k = 0..12 today; 24h: k <= 23 (yesterday after 12:30, from results)
    assert shares["24h"] == expected(23)
    # 7d: today and the 6 whole days before (k <= 12 + 6 * 24 = 156), 5 of them both
    # rolled up and kept, one half purged; the first day's afternoon is purged
    assert shares["7d"] == expected(156)
    # 30d: today and 29 whole days (k <= 12 + 29 * 24 = 708), 24 of them purged
    assert shares["30d"] == expected(708)
    assert shares["30d"].ratio == 638 / 709
    assert repo.availability(2, NOW)["24h"] == Share(1, 0)
    assert {s.ratio for s in repo.availability(3, NOW).values()} == {None}
    # a day later nothing was checked: no availability over 24 h, not 0% or 100%
    later = repo.availability(1, NOW + DAY_MS)
    assert later["24h"] == Share() and later["24h"].ratio is None
    assert later["7d"] == expected(132)  # the day before now whole: 13 + 5 * 24 results


@pytest.fixture
def recent(tmp_path: Path) -> Iterator[Engine]:
    """The status tests' known database, target 1 checked hourly for the last 10 days
    (every finished day rolled up) and rolled up with no results kept 15 to 20 days
    ago (24 checks a day, 4 failed)."""
    known = status_db.build(tmp_path / "am.db", n_targets=3)
    now = now_ms()
    with known.engine.begin() as conn:
        conn.execute(insert(RESULTS), hourly(now, 10 * 24))
    repo = Repository(known.engine)
    roll_up(repo, now, 365, now)
    today = now // DAY_MS
    old = [
        {"target_id": 1, "day": d, "checks": 24, "counts": "0:20 3:4"}
        for d in range(today - 20, today - 14)
    ]
    repo.store_rollups(old)
    yield known.engine


RECENT = {
    "24h": {"checks": 24, "up": 21, "ratio": 21 / 24},
    "7d": {"checks": 168, "up": 151, "ratio": 151 / 168},
    "30d": {"checks": 240 + 6 * 24, "up": 216 + 6 * 20, "ratio": 336 / 384},
}


async def test_the_api_and_the_target_page_show_it(recent: Engine) -> None:
    async with running(status_db.Known(recent)) as srv:
        doc = await get_json(srv, "/api/v1/targets/1")
        assert doc["availability"] == RECENT
        none = await get_json(srv, "/api/v1/targets/2")  # its results are from 2023
        assert {w["ratio"] for w in none["availability"].values()} == {None}
        assert "availability" not in (await get_json(srv, "/api/v1/targets"))["items"][0]
        status, html, _ = await get(srv, "/targets/1")
        assert status == 200
        assert (
            "available 87.5% over 24 h (24 checks) · 89.8% over 7 d (168 checks)"
            " · 87.5% over 30 d (384 checks)"
        ) in html
        _, html, _ = await get(srv, "/targets/2")
        assert "no checks over the last 30 d" in html


def test_history_prints_it(recent: Engine) -> None:
    db = str(recent.url)
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["targets"][0]["availability"] == RECENT
    result = CliRunner().invoke(cli, ["history", "1", "--db", db, "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "available 87.5% over 24 h (24 checks) · 89.8% over 7 d" in result.output
