"""Partition maintenance against an unlucky database (monitor/storage/partitions.py):
a reader holding `check_results` (a long `history`, a report, psql) must not make
the leader's DROP or ATTACH queue for the table's strongest lock with every writer
queued behind it; the leader gives up for this period and the writers go on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from support.pg import pg_engine

from monitor.storage import partitions
from monitor.storage.migrate import upgrade
from monitor.storage.repository import now_ms

pytestmark = pytest.mark.postgres

DAY = partitions.DAY_MS
BOUND_S = 60  # a bound on a hang, never a measure: the step takes well under a second


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_engine()


def _in_thread(fn: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except Exception as exc:  # handed to the test
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


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
        leader, made = _in_thread(lambda: partitions.maintain(pg, now, now - 30 * DAY))
        leader.join(BOUND_S)
        assert not leader.is_alive(), "the leader waited on the reader's lock"
        assert made and not isinstance(made[0], Exception), made
        writer, wrote = _in_thread(lambda: _write(pg, now))
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
