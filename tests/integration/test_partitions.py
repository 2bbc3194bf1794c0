"""`check_results` partitioned by day on PostgreSQL (migration 0008): the rows
survive the rebuild, a day's partition takes the rows the default partition
held for it, retention drops whole days once rolled up, and the downgrade
gives the plain table back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, text
from support.pg import pg_engine
from support.storage import midday

from monitor.daemon.maintenance import run_maintenance
from monitor.storage import dialect, partitions
from monitor.storage.migrate import _config, upgrade
from monitor.storage.repository import RESULTS, Repository, now_ms

pytestmark = pytest.mark.postgres

DAY = partitions.DAY_MS


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_engine()


def put(engine: Engine, *rows: tuple[int, int]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO check_results (target_id, checked_at, outcome, http_status,"
                " latency_ms, problems) VALUES (:t, :at, 0, 200, 50, NULL)"
            ),
            [{"t": t, "at": at} for t, at in rows],
        )


def count(engine: Engine, table: str = "check_results") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_the_rebuild_keeps_every_row_and_the_downgrade_gives_them_back(pg: Engine) -> None:
    upgrade(pg, "0007")
    now = now_ms()
    rows = [(1, now), (1, now - 3 * DAY), (2, now - 3 * DAY + 1), (1, now - 500 * DAY)]
    put(pg, *rows)
    upgrade(pg)
    with pg.connect() as conn:
        assert partitions.partitioned(conn)
        days = partitions.days(conn)
    today = now // DAY
    assert {today - 3, today, today + partitions.AHEAD_DAYS} <= days
    assert today - 500 not in days  # beyond SPAN_DAYS: kept in the default partition
    assert count(pg) == 4
    assert count(pg, partitions.DEFAULT) == 1
    assert count(pg, partitions.name_of(today - 3)) == 2
    # the writer's insert (ON CONFLICT DO NOTHING) works on the partitioned table
    with pg.begin() as conn:
        conn.execute(
            dialect.insert_ignore("postgresql", RESULTS),
            [
                {"target_id": 1, "checked_at": now, "outcome": 0},
                {"target_id": 3, "checked_at": now, "outcome": 0},
            ],
        )
    assert count(pg) == 5
    cfg = _config()
    with pg.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with pg.connect() as conn:
        assert not partitions.partitioned(conn)
    assert count(pg) == 5


def test_a_days_partition_takes_the_rows_the_default_held_for_it(pg: Engine) -> None:
    upgrade(pg)
    now = now_ms()
    later = now + 30 * DAY  # beyond the partitions made ahead: the default takes it
    put(pg, (1, later), (2, later + 1))
    assert count(pg, partitions.DEFAULT) == 2
    with pg.begin() as conn:
        made = partitions.ensure(conn, later)
    assert made >= partitions.AHEAD_DAYS
    assert count(pg, partitions.DEFAULT) == 0
    assert count(pg, partitions.name_of(later // DAY)) == 2
    with pg.begin() as conn:
        assert partitions.ensure(conn, later) == 0  # idempotent


def test_retention_drops_whole_days_once_they_are_rolled_up(pg: Engine) -> None:
    upgrade(pg)
    repo = Repository(pg)
    now = midday()  # the days before today are complete (an hour's grace past midnight)
    today = now // DAY
    with pg.begin() as conn:
        partitions.ensure(conn, now, first_day=today - 45)
    put(pg, (1, (today - 40) * DAY + 5), (1, (today - 35) * DAY + 5), (1, (today - 2) * DAY + 5))
    report = run_maintenance(repo, now, retention_days=30, rollup_retention_days=365)
    assert report.days_rolled >= 40
    assert report.partitions_dropped == 45 - 30  # days -45 .. -31, whole
    with pg.connect() as conn:
        left = partitions.days(conn)
    assert min(left) == today - 30
    assert count(pg) == 1  # the result of two days ago
    assert report.results_deleted == 0  # nothing left for the DELETE
    with pg.connect() as conn:
        rolled = conn.execute(text("SELECT count(*) FROM rollups")).scalar_one()
    assert rolled == 3  # the dropped days were rolled up first
