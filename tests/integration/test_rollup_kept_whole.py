"""A day's rollup outlives the retention that cut the day's results in two: when
the days are rolled up again (the rollup mark unreadable: from the oldest result
kept), the cut day's whole rollup is not rewritten from its half left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from support.pg import pg_engine

from monitor.availability import DAY_MS, Share
from monitor.daemon.maintenance import ROLLED_THROUGH, run_maintenance
from monitor.storage import partitions
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import RESULTS, ROLLUPS, Repository
from monitor.storage.store import now_ms

HOUR = 3_600_000
# today (PostgreSQL's retention counts from the database's clock), 12:30 UTC
DAY = now_ms() // DAY_MS
NOW = DAY * DAY_MS + 12 * HOUR + HOUR // 2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    for eng in pg_engine():
        upgrade(eng)
        with eng.begin() as conn:
            partitions.ensure(conn, NOW, first_day=DAY - 41)
        yield eng


def rollup_checks(engine: Engine, day: int) -> int:
    with engine.connect() as conn:
        found = conn.scalar(
            select(ROLLUPS.c.checks).where(ROLLUPS.c.target_id == 1, ROLLUPS.c.day == day)
        )
    return int(found or 0)


def test_a_day_cut_by_retention_keeps_its_whole_rollup(engine: Engine) -> None:
    """An hourly result for 40 days; retention 5 days cuts day DAY - 5 in two (the
    purge deletes by time). Its rollup had 24 checks and was rewritten with the 12
    left, once the mark was unreadable: 12 checks gone from history and from the
    target's 30 d availability."""
    with engine.begin() as conn:
        conn.execute(
            insert(RESULTS),
            [
                {"target_id": 1, "checked_at": NOW - HOUR // 2 - k * HOUR, "outcome": 0}
                for k in range(40 * 24)
            ],
        )
    repo = Repository(engine)
    run_maintenance(repo, NOW, retention_days=5, rollup_retention_days=365)
    assert rollup_checks(engine, DAY - 5) == 24
    assert repo.availability(1, NOW)["30d"] == Share(709, 709)
    repo.set_meta(ROLLED_THROUGH, "unreadable")
    run_maintenance(repo, NOW + HOUR, retention_days=5, rollup_retention_days=365)
    assert rollup_checks(engine, DAY - 5) == 24
    assert repo.availability(1, NOW)["30d"] == Share(709, 709)
    # a day rolled up early (a clock ahead) is still replaced by its whole rollup
    repo.store_rollups([{"target_id": 1, "day": DAY - 1, "checks": 3, "counts": "0:3"}])
    repo.set_meta(ROLLED_THROUGH, str(DAY - 2))
    run_maintenance(repo, NOW + HOUR, retention_days=5, rollup_retention_days=365)
    assert rollup_checks(engine, DAY - 1) == 24
