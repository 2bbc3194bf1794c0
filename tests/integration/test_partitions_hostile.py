"""Partition maintenance against an unlucky database (monitor/storage/partitions.py):
a reader holding `check_results` (a long `history`, a report, psql) must not make
the leader's DROP or ATTACH queue for the table's strongest lock with every writer
queued behind it; the leader gives up for this period and the writers go on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from support.pg import pg_engine
from support.threads import in_thread

from monitor.storage import partitions
from monitor.storage.migrate import upgrade
from monitor.storage.repository import now_ms

pytestmark = pytest.mark.postgres

DAY = partitions.DAY_MS
BOUND_S = 60  # a bound on a hang, never a measure: the step takes well under a second


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_engine()


def _write(engine: Engine, at: int) -> int:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (1, :at, 0)"),
            {"at": at},
        )
    return 1


@pytest.mark.parametrize("step", ["drop", "attach"])
def test_a_reader_holding_the_table_does_not_queue_the_writers(pg: Engine, step: str) -> None:
    upgrade(pg)
    now = now_ms()
    today = now // DAY
    with pg.begin() as conn:
        partitions.ensure(conn, now, first_day=today - 40)
        if step == "attach":  # a coming day lost (made by hand, dropped by hand)
            conn.execute(text(f"DROP TABLE {partitions.name_of(today + 3)}"))
    reader = pg.connect()
    tx = reader.begin()
    reader.execute(text("SELECT count(*) FROM check_results")).scalar_one()
    try:
        leader, made = in_thread(lambda: partitions.maintain(pg, now, now - 30 * DAY))
        leader.join(BOUND_S)
        assert not leader.is_alive(), "the leader waited on the reader's lock"
        assert made and not isinstance(made[0], Exception), made
        writer, wrote = in_thread(lambda: _write(pg, now))
        writer.join(BOUND_S)
        assert not writer.is_alive() and wrote == [1], wrote
    finally:
        tx.rollback()
        reader.close()
    # the reader gone, the next period does what this one could not
    made_now, dropped_now = partitions.maintain(pg, now, now - 30 * DAY)
    with pg.connect() as conn:
        have = partitions.days(conn)
    assert min(have) == today - 30
    assert today + 3 in have
    assert (made_now, dropped_now) != (0, 0)


def test_a_writer_filling_the_default_partition_does_not_fail_the_days_partition(
    pg: Engine,
) -> None:
    """Maintenance stopped past the days made ahead (a leaderless week, a restore):
    today's results go to the default partition while the leader makes today's.
    A writer committing a row for that day between the leader's move out of the
    default and its ATTACH failed the ATTACH (the default then held a row of the
    new range), every period while writers were busy: no partition made again."""
    upgrade(pg)
    now = now_ms()
    today = now // DAY
    with pg.begin() as conn:
        conn.execute(text(f"DROP TABLE {partitions.name_of(today)}"))
    writer = pg.connect()
    tx = writer.begin()
    writer.execute(
        text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (7, :at, 0)"),
        {"at": now},
    )
    leader, made = in_thread(lambda: partitions.maintain(pg, now, now - 30 * DAY))
    try:
        with pg.connect() as watch:
            for _ in range(10_000):  # bounded: until the leader waits on the writer's lock
                waiting = watch.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        " WHERE NOT l.granted AND c.relname = :t"
                    ),
                    {"t": partitions.DEFAULT},
                ).scalar_one()
                if waiting or not leader.is_alive():
                    break
        tx.commit()
    finally:
        writer.close()
    leader.join(BOUND_S)
    assert not leader.is_alive()
    assert made and not isinstance(made[0], Exception), made
    # today's partition made now or at the next period, with the writer's row in it
    partitions.maintain(pg, now, now - 30 * DAY)
    with pg.connect() as conn:
        assert today in partitions.days(conn)
        rows = conn.execute(
            text(f"SELECT count(*) FROM {partitions.name_of(today)} WHERE target_id = 7")
        ).scalar_one()
    assert rows == 1
