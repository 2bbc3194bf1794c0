"""`targets.active` against the schedule, under every path that writes either (0010).

`active` is 1 exactly when `next_due` is set. Hypothesis interleaves the corpus
(documents stored, changed, removed; URLs shared by several articles, retired
and revived), the dispatcher (claims with leases that run out, results batched
with stale holders', releases) and, in the second test, a daemon of the
previous version still writing the same database during a rolling upgrade
(it knows nothing of `active`). After each step the metrics snapshot and the
status listing must equal a recomputation from the table's schedule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from support.pg import pg_engine
from support.upgraded import migrated_db
from test_storage import FP, T0, done, queue_rows, record

from monitor.daemon.maintenance import run_maintenance
from monitor.daemon.state import State, TargetState
from monitor.storage.engine import make_engine
from monitor.storage.listing import TargetQuery
from monitor.storage.migrate import upgrade
from monitor.storage.repository import CheckRecord, Claimed, Repository
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)
DOWN = TargetState(State.DOWN, 1, 0)
WEBS = [f"https://n{i % 2}.test/{i}/" for i in range(5)]


def scheduled(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, kind, state, provider, last_outcome, last_problems, active"
                " FROM targets WHERE next_due IS NOT NULL OR active IS NOT NULL ORDER BY id"
            )
        )
        return [dict(r._mapping) for r in rows]


def scheduled_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.scalars(text("SELECT id FROM targets WHERE next_due IS NOT NULL")))


def assert_consistent(repo: Repository) -> None:
    """active <=> next_due; the queue holds each scheduled target once; the snapshot
    and the listing equal what the table's schedule says."""
    rows = scheduled(repo.engine)
    ids = scheduled_ids(repo.engine)
    assert [r["id"] for r in rows if r["active"] is not None] == ids
    assert [r["id"] for r in rows] == ids
    assert sorted(i for _, i in queue_rows(repo.engine)) == ids
    snap = repo.snapshot()
    assert snap.targets == dict(Counter((r["kind"], r["state"]) for r in rows))
    down = Counter(r["provider"] or "" for r in rows if r["state"] == State.DOWN.value)
    assert snap.provider_down == dict(down)
    codes = Counter(c for r in rows for c in (r["last_problems"] or "").split())
    assert snap.problems == dict(codes)
    page = repo.list_targets(TargetQuery(limit=1000))
    assert [i["id"] for i in page.items] == ids
    by_id = {r["id"]: r for r in rows}
    for item in page.items:
        row = by_id[item["id"]]
        assert (item["state"], item["last_outcome"]) == (row["state"], row["last_outcome"])
    for state in ("up", "down", "unknown"):
        got = repo.list_targets(TargetQuery(state=state, limit=1000)).items
        assert [i["id"] for i in got] == [r["id"] for r in rows if r["state"] == state]
    assert repo.active_targets() == len(ids)


def result(claim: Claimed, at: int, variant: int) -> CheckRecord:
    """A result that changes the stored state, or repeats it (same codes, another order)."""
    if variant % 3 == 0:
        return done(claim.id, claim.lease, at, Outcome.OK, claim.state, UP)
    rec = done(claim.id, claim.lease, at, Outcome.HTTP_ERROR, claim.state, DOWN)
    codes = ("slow_response", "soft_404") if variant % 3 == 1 else ("soft_404", "slow_response")
    return replace(rec, problems=codes)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["store", "remove", "claim", "record", "release", "old"]),
        st.integers(0, 7),
        st.integers(0, 31),
    ),
    min_size=5,
    max_size=40,
)


def run_ops(repo: Repository, ops: list[tuple[str, int, int]], old_writer: bool) -> None:
    now = T0
    held: list[Claimed] = []
    backlog: list[CheckRecord] = []
    for op, n, mask in ops:
        now += 400 * (n + 1)
        doc = f"d{n % 3}.txt"
        if op == "store":  # a new or changed document: articles sharing URLs across docs
            arts = [
                record(w, source=doc, images=(mask >> 4) & 1)
                for i, w in enumerate(WEBS)
                if mask >> i & 1 and (i + n) % 2 == 0
            ]
            repo.store_document(doc, FP, arts, 0, now)
        elif op == "remove":
            repo.remove_document(doc)
        elif op == "claim":
            held += repo.claim_due(now, n + 1, 1000)  # 1 s leases: they run out
        elif op == "record":  # batched as the writer does: stale holders' results too
            backlog += [result(c, now, mask + k) for k, c in enumerate(held[: n + 1])]
            del held[: n + 1]
            if mask % 2:
                repo.record(backlog)
                backlog = []
        elif op == "release":
            repo.release([(c.id, c.lease) for c in held[: n + 1]], now)
            del held[: n + 1]
        elif op == "old" and old_writer:
            previous_version_writes(repo.engine, n, mask, now)
        if not old_writer:
            assert_consistent(repo)
    repo.record(backlog)
    repo.release([(c.id, c.lease) for c in held], now)
    if old_writer:  # the previous version's rows are mended once this one meets them
        now += 10**6
        for _ in range(3):
            repo.record([result(c, now, 0) for c in repo.claim_due(now, 100, 1000)])
            now += 10**6
    assert_consistent(repo)
    assert len(repo.claim_due(now + 10**9, 100, 1000)) == len(scheduled_ids(repo.engine))


def previous_version_writes(engine: Engine, n: int, mask: int, now: int) -> None:
    """What a daemon of version 0009 does to the schema it does not know: a new
    target scheduled with its queue row, or one retired, `active` left alone."""
    with engine.begin() as conn:
        if mask % 2:
            tid = conn.scalar(
                text(
                    "INSERT INTO targets (url, kind, provider, state, fails, succs, next_due,"
                    " last_problems) VALUES (:u, 'web', 'old.test', 'unknown', 0, 0, :d, '')"
                    " RETURNING id"
                ),
                {"u": f"https://old.test/{now}/{n}", "d": now},
            )
            conn.execute(
                text("INSERT INTO due_queue (due, target_id) VALUES (:d, :t)"),
                {"d": now, "t": tid},
            )


def fresh(factory: pytest.TempPathFactory) -> Repository:
    path = migrated_db(factory.mktemp("act") / "am.db")  # a new database, migrated
    return Repository(make_engine(f"sqlite:///{path}"))


@settings(max_examples=25, deadline=None)
@given(ops=OPS)
def test_active_follows_the_schedule_and_the_reads_follow_the_table(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]]
) -> None:
    repo = fresh(tmp_path_factory)
    try:
        run_ops(repo, ops, old_writer=False)
    finally:
        repo.engine.dispose()


@settings(max_examples=15, deadline=None)
@given(ops=OPS)
def test_targets_a_previous_version_scheduled_are_checked_and_counted(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]]
) -> None:
    """A rolling upgrade: the old member keeps scheduling targets without `active`;
    this version claims them (it dropped their queue rows and never checked them
    again) and flags them when it records their results."""
    repo = fresh(tmp_path_factory)
    try:
        run_ops(repo, [*ops, ("old", 1, 1)], old_writer=True)
    finally:
        repo.engine.dispose()


@pytest.mark.postgres
@settings(max_examples=8, deadline=None)
@given(ops=OPS)
def test_active_follows_the_schedule_on_postgresql(ops: list[tuple[str, int, int]]) -> None:
    """The same moves, and a previous version's, on PostgreSQL (row locks, RETURNING,
    its own planner)."""
    made = pg_engine()
    engine = next(made)
    try:
        upgrade(engine)
        repo = Repository(engine)
        run_ops(repo, [*ops, ("old", 1, 1)], old_writer=True)
        assert repo.mend_active_flags() == 0  # nothing left to mend; the SQL runs here
    finally:
        made.close()


def test_maintenance_mends_what_a_previous_version_retired_and_scheduled(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A target the old member retired (next_due NULL, flag left at 1) was listed
    and counted for ever; one it scheduled, until its first result here."""
    repo = fresh(tmp_path_factory)
    try:
        repo.store_document("a.txt", FP, [record(w) for w in WEBS[:2]], 0, T0)
        retired, *_ = scheduled_ids(repo.engine)
        with repo.engine.begin() as conn:  # the previous version's retire
            conn.execute(text("DELETE FROM due_queue WHERE target_id = :t"), {"t": retired})
            conn.execute(text("UPDATE targets SET next_due = NULL WHERE id = :t"), {"t": retired})
        previous_version_writes(repo.engine, 1, 1, T0)
        run_maintenance(repo, T0, retention_days=30, rollup_retention_days=400)
        assert_consistent(repo)
        assert retired not in {i["id"] for i in repo.list_targets(TargetQuery()).items}
    finally:
        repo.engine.dispose()
