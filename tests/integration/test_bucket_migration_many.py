"""Migration 0009 on many rows and odd ones (issue 16 hostile review).

Its queue rows were fixed one statement per moved target, `WHERE target_id = :i`,
and `due_queue` has no index on `target_id` (by design, tables.py): each was a
scan of the whole queue, so the work grew with the square of the targets
(8,000 targets half of them Unicode hosts: 0.9 CPU-s; 32,000: 13.4 CPU-s; a
million: hours). The work is counted here in SQLite's virtual-machine steps
(a progress handler), never timed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, event, text

from monitor.daemon.placement import BUCKETS, _h64, url_bucket
from monitor.storage.engine import make_engine
from monitor.storage.migrate import _config, upgrade

STEP = 1000  # VM instructions per progress call


def old_bucket(host: str) -> int:
    """The bucket as migration 0006 and the corpus write stored it before 0009."""
    return _h64("host:" + host.strip("[]").rstrip(".").lower()) % BUCKETS


def seed(engine: Engine, count: int, *, start: int = 1) -> None:
    """`count` targets, every other one on a Unicode host (its bucket moves), all due."""
    rows = []
    for i in range(start, start + count):
        host = f"bücher{i % 97}.example" if i % 2 else f"news{i % 97}.example"
        rows.append({"i": i, "u": f"http://{host}/{i}", "b": old_bucket(host), "d": 1000 + i})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, state, fails, succs, next_due, bucket,"
                " last_problems) VALUES (:i, :u, 'web', 'unknown', 0, 0, :d, :b, '')"
            ),
            rows,
        )
        queue = text("INSERT INTO due_queue (due, target_id, bucket) VALUES (:d, :i, :b)")
        conn.execute(queue, rows)


def steps_to_migrate(tmp: Path, count: int) -> int:
    engine = make_engine(f"sqlite:///{tmp / f'{count}.db'}")
    upgrade(engine, "0008")
    seed(engine, count)
    calls = [0]

    def tick() -> int:
        calls[0] += 1
        return 0

    @event.listens_for(engine, "connect")
    def on_connect(dbapi: Any, record: Any) -> None:
        assert isinstance(dbapi, sqlite3.Connection)
        dbapi.set_progress_handler(tick, STEP)

    engine.dispose()  # new connections get the handler
    upgrade(engine)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT target_id, bucket FROM due_queue")).all())
        urls = dict(conn.execute(text("SELECT id, url FROM targets")).all())
    assert stored == {i: url_bucket(u) for i, u in urls.items()}
    engine.dispose()
    return calls[0]


def test_the_work_grows_with_the_rows_not_their_square(tmp_path: Path) -> None:
    small, big = steps_to_migrate(tmp_path, 1000), steps_to_migrate(tmp_path, 4000)
    # linear: ~4x the steps for 4x the rows; one queue scan per moved row made it ~16x
    assert big < 6 * small, (small, big)


def test_odd_rows_and_up_down_up(engine: Engine) -> None:
    """A target not queued (leased or retired), a queue row whose bucket is NULL,
    an IPv6 literal, a URL with no host: each ends with its host key's bucket,
    and the queue's with its target's; down and up again changes nothing."""
    upgrade(engine, "0008")
    seed(engine, 6)
    odd = {
        7: "http://[0:0::1]:8080/x",  # queued, with a NULL bucket
        8: "http:///no-host",  # not queued (leased or retired)
        9: "http://XN--BCHER-KVA.example./y",
    }
    with engine.begin() as conn:
        for i, url in odd.items():
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, state, fails, succs, next_due, bucket,"
                    " last_problems) VALUES (:i, :u, 'web', 'unknown', 0, 0, :d, :b, '')"
                ),
                {"i": i, "u": url, "d": 5000 + i, "b": None if i == 7 else 3},
            )
        for i in (7, 9):
            conn.execute(
                text("INSERT INTO due_queue (due, target_id, bucket) VALUES (:d, :i, :b)"),
                {"d": 5000 + i, "i": i, "b": None if i == 7 else 3},
            )

    def state() -> tuple[dict[int, int], dict[int, int]]:
        with engine.connect() as conn:
            targets = dict(conn.execute(text("SELECT id, bucket FROM targets")).all())
            due = dict(conn.execute(text("SELECT target_id, bucket FROM due_queue")).all())
        return targets, due

    upgrade(engine)
    targets, due = state()
    with engine.connect() as conn:
        urls = dict(conn.execute(text("SELECT id, url FROM targets")).all())
    assert targets == {i: url_bucket(u) for i, u in urls.items()}
    assert due == {i: targets[i] for i in due} and set(due) == {1, 2, 3, 4, 5, 6, 7, 9}
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    upgrade(engine)
    assert state() == (targets, due)
