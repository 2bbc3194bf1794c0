"""The claim queue's invariant under failures: each active target has exactly one
queue row, due or leased (issue 14, item 0).

The bug: after an outage the result writer's backlog can hold, in one batch, a
stale holder's result (its lease ran out while the writer was retrying) and the
current holder's result for the same target. `record` moved the target on for
both, so it was queued twice; a later claim then took it twice and failed with
UNIQUE (leases.until, leases.target_id), blocking its whole batch.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from support.pg import PG_URL, pg_engine
from support.upgraded import migrated_db
from test_storage import FP, T0, active_ids, done, queue_rows, record

from monitor.daemon.state import State, TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import CheckRecord, Claimed, Repository
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)


def assert_invariant(engine: Engine) -> None:
    """Each active target exactly once in the queue; nothing else in it."""
    ids = [i for _, i in queue_rows(engine)]
    assert sorted(ids) == active_ids(engine)


def ok(claim: Claimed, at: int) -> CheckRecord:
    return done(claim.id, claim.lease, at, Outcome.OK, claim.state, UP)


def test_a_stale_and_a_current_result_in_one_batch_queue_the_target_once(
    repo: Repository,
) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    old = {c.id: c for c in repo.claim_due(T0, 10, 1000)}
    new = {c.id: c for c in repo.claim_due(T0 + 2000, 10, 1000)}  # the old leases ran out
    assert set(old) == set(new)
    batch = [ok(old[i], T0 + 2100) for i in old] + [ok(new[i], T0 + 2200) for i in new]
    repo.record(batch)
    assert_invariant(repo.engine)
    # the claim that used to fail with UNIQUE (leases.until, leases.target_id)
    again = repo.claim_due(T0 + 10**6, 10, 1000)
    assert sorted(c.id for c in again) == sorted(old)
    assert_invariant(repo.engine)
    # both results happened and are kept; the schedule is the current holder's
    assert all(len(repo.target_history(i)[1]) == 2 for i in old)


def test_a_damaged_queue_mends_itself_at_its_front(repo: Repository) -> None:
    """A queue left damaged by the old bug: a stray due row, a target leased twice."""
    engine = repo.engine
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=1)], 0, T0)
    a, b, c = active_ids(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO due_queue (due, target_id) VALUES (:d, :t)"),
            [
                {"d": T0 - 5, "t": a},  # a stray second row of a queued target
            ],
        )
        conn.execute(text("DELETE FROM due_queue WHERE target_id = :t"), {"t": b})
        conn.execute(
            text("INSERT INTO leases (until, target_id) VALUES (:u, :t)"),
            [
                {"u": T0 + 1, "t": b},  # b leased twice, both expired
                {"u": T0 + 2, "t": b},
            ],
        )
        conn.execute(
            text("INSERT INTO leases (until, target_id) VALUES (:u, :t)"),
            [
                {"u": T0 + 10**9, "t": c},  # c queued and leased (live): not taken twice
            ],
        )
    claims = repo.claim_due(T0 + 10, 100, 1000)
    assert sorted(x.id for x in claims) == [a, b]
    rows = queue_rows(engine)
    assert sorted(rows) == [("lease", a), ("lease", b), ("lease", c)]
    repo.record([ok(x, T0 + 20) for x in claims])
    assert_invariant(engine)


# -- the invariant under injected failures (Hypothesis drives the daemon's moves)

OPS = st.lists(
    st.tuples(
        st.sampled_from(["claim", "record", "release", "tick", "outage", "mend"]),
        st.integers(1, 6),
    ),
    min_size=5,
    max_size=40,
)


class Outage:
    """A second connection holding SQLite's write lock: every write fails meanwhile."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.on = False

    def toggle(self) -> None:
        self.conn.execute("COMMIT" if self.on else "BEGIN EXCLUSIVE")
        self.on = not self.on

    def close(self) -> None:
        if self.on:
            self.toggle()
        self.conn.close()


@settings(max_examples=100, deadline=None)
@given(ops=OPS)
def test_the_queue_invariant_holds_under_outages_and_stale_results(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int]]
) -> None:
    """Claims with short leases, results batched like the writer does (a failed batch
    is retried together with what came meanwhile), releases, and outages at any point."""
    path = migrated_db(tmp_path_factory.mktemp("inv") / "am.db")  # a new database, migrated
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=1)
    repo = Repository(engine)
    repo.store_document(
        "a.txt", FP, [record(f"https://n.test/{i}/", images=1) for i in range(4)], 0, T0
    )
    outage = Outage(path)
    now = T0
    held: list[Claimed] = []
    backlog: list[CheckRecord] = []  # the writer's pending batch plus its queue
    try:
        for op, n in ops:
            now += n * 400
            try:
                if op == "claim":
                    held += repo.claim_due(now, n, 1000)  # 1 s leases: they run out
                elif op == "record":
                    backlog += [ok(c, now) for c in held[:n]]
                    del held[:n]
                    repo.record(backlog)
                    backlog = []
                elif op == "release":
                    repo.release([(c.id, c.lease) for c in held[:n]], now)
                    del held[:n]
                elif op == "outage":
                    outage.toggle()
            except SQLAlchemyError:
                assert outage.on  # only the injected outage may fail a write
            if not outage.on:
                assert_invariant(engine)
        if outage.on:
            outage.toggle()
        repo.record(backlog)
        repo.release([(c.id, c.lease) for c in held], now)
        assert_invariant(engine)
        assert len(repo.claim_due(now + 10**6, 100, 1000)) == len(active_ids(engine))
    finally:
        outage.close()
        engine.dispose()


# -- PostgreSQL: a connection killed mid-transaction


@pytest.mark.postgres
def test_a_backend_killed_mid_transaction_leaves_the_queue_whole() -> None:
    """pg_terminate_backend inside claim, record and release: each either happened
    whole or not at all, and the retry (as the daemon does) completes it."""
    if not PG_URL:
        pytest.skip("ARTICLE_MONITOR_TEST_PG_URL not set")
    gen = pg_engine()
    engine = next(gen)
    try:
        upgrade(engine)
        repo = Repository(engine)
        repo.store_document(
            "a.txt", FP, [record(f"https://n.test/{i}/", images=1) for i in range(5)], 0, T0
        )
        admin = make_engine(PG_URL)
        armed: dict[str, Any] = {"on": None, "kills": 0}

        @event.listens_for(engine, "before_cursor_execute")
        def _kill(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            word = armed["on"]
            if word and statement.lstrip().upper().startswith(word):
                armed["on"] = None
                pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                with admin.begin() as a:
                    a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                armed["kills"] += 1

        def retried(fn: Any, *args: Any) -> Any:
            for _ in range(3):
                try:
                    return fn(*args)
                except SQLAlchemyError:
                    continue
            raise AssertionError("three tries failed")

        armed["on"] = "INSERT INTO LEASES"  # after the due rows were taken
        claims = retried(repo.claim_due, T0, 6, 1000)
        assert len(claims) == 6
        assert_invariant(engine)
        armed["on"] = "INSERT INTO DUE_QUEUE"  # after the leases were ended
        retried(repo.record, [ok(c, T0 + 10) for c in claims[:4]])
        assert_invariant(engine)
        armed["on"] = "INSERT INTO DUE_QUEUE"
        retried(repo.release, [(c.id, c.lease) for c in claims[4:]], T0 + 20)
        assert_invariant(engine)
        assert armed["kills"] == 3
        assert all(len(repo.target_history(c.id)[1]) == 1 for c in claims[:4])
        admin.dispose()
    finally:
        gen.close()
