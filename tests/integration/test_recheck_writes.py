"""A recheck's result write (issue 16, migration 0010).

Every result moves `next_due`. While the status indexes' predicate was `next_due
IS NOT NULL`, each result rewrote all six of them; now their predicate is
`active`, and a result that leaves the target's state, outcome and problems as
stored goes through a narrower UPDATE that sets no indexed column. These tests
hold the two halves of that: the narrow statement touches nothing an index of
`targets` reads (in the models and in the migrated database), and a result is
routed to it only when nothing indexed changed, so the listings and the
metrics stay exact.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text
from sqlalchemy.dialects import sqlite
from test_storage import FP, T0, active_ids, record

from monitor.daemon.state import State, TargetState
from monitor.storage.listing import TargetQuery
from monitor.storage.migrate import upgrade
from monitor.storage.queue import TARGET_RECHECK, TARGET_UPDATE
from monitor.storage.repository import CheckRecord, Claimed, Repository
from monitor.storage.tables import OUTCOME_CODES, TargetRow
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)
DOWN = TargetState(State.DOWN, 1, 0)


def set_columns(stmt: object) -> set[str]:
    sql = str(stmt.compile(dialect=sqlite.dialect()))  # type: ignore[attr-defined]
    clause = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    return {part.split("=")[0].strip() for part in clause.split(",")}


def index_words(sql: str) -> set[str]:
    """The identifiers of an index definition after its table name: its columns and
    its WHERE clause."""
    body = re.split(r"\bON\s+\S*targets\b", sql, maxsplit=1, flags=re.IGNORECASE)[1]
    return set(re.findall(r"[a-z_]+", body))


def test_the_recheck_update_sets_no_column_that_an_index_reads_in_the_models() -> None:
    narrow = set_columns(TARGET_RECHECK)
    assert narrow == {"fails", "succs", "next_due", "last_checked_at", "last_status"}
    assert narrow < set_columns(TARGET_UPDATE)
    table = TargetRow.__table__  # type: ignore[attr-defined]
    for index in table.indexes:
        read = {c.name for c in index.columns}
        where = index.dialect_options["sqlite"]["where"]
        if where is not None:
            read |= set(re.findall(r"[a-z_]+", str(where)))
        assert not read & narrow, index.name


def test_the_recheck_update_sets_no_column_that_an_index_reads_in_the_database(
    engine: Engine,
) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'targets'"
        else:
            sql = (
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'targets'"
                " AND schemaname = current_schema()"
            )
        defs = [d for d in conn.scalars(text(sql)) if d]
    assert len(defs) >= 5  # the five status indexes (PostgreSQL: url's unique one and the key too)
    narrow = set_columns(TARGET_RECHECK)
    for d in defs:
        assert not index_words(d) & narrow, d


def result(
    claim: Claimed,
    at: int,
    outcome: Outcome,
    after: TargetState,
    *,
    status: int | None,
    problems: tuple[str, ...] = (),
) -> CheckRecord:
    return CheckRecord(
        target_id=claim.id,
        lease=claim.lease,
        checked_at=at,
        outcome=OUTCOME_CODES[outcome],
        outcome_name=outcome.value,
        http_status=status,
        latency_ms=5,
        problems=problems,
        before=claim.state,
        after=after,
        next_due=at + 60_000,
    )


def row(repo: Repository, target_id: int) -> dict[str, object]:
    with repo.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT state, fails, succs, next_due, last_checked_at, last_outcome,"
                " last_status, last_problems, active FROM targets WHERE id = :i"
            ),
            {"i": target_id},
        ).one()
    return dict(found._mapping)


def listed(repo: Repository, **filters: str) -> set[int]:
    page = repo.list_targets(TargetQuery(**filters))  # type: ignore[arg-type]
    return {int(item["id"]) for item in page.items}


def test_results_keep_the_rows_listings_and_metrics_exact_whichever_update_they_take(
    repo: Repository,
) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    (first,) = [c for c in repo.claim_due(T0, 10, 1000) if c.kind.value == "web"]
    tid = first.id
    at = T0 + 10

    def claim() -> Claimed:
        got = [c for c in repo.claim_due(10**13, 10, 1000) if c.id == tid]
        assert len(got) == 1
        return got[0]

    # first sighting: state, outcome and problems all change (the full update)
    repo.record([result(first, at, Outcome.OK, UP, status=200)])
    assert row(repo, tid) | {"next_due": None} == {
        "state": "up", "fails": 0, "succs": 1, "next_due": None, "last_checked_at": at,
        "last_outcome": "ok", "last_status": 200, "last_problems": "", "active": 1,
    }  # fmt: skip
    assert tid in listed(repo, state="up") and tid in listed(repo, outcome="ok")

    # a recheck that changes nothing indexed: the narrow update, every column it sets moved
    at += 1000
    again = TargetState(State.UP, 0, 2)
    repo.record([result(claim(), at, Outcome.OK, again, status=203)])
    assert row(repo, tid) == {
        "state": "up", "fails": 0, "succs": 2, "next_due": at + 60_000, "last_checked_at": at,
        "last_outcome": "ok", "last_status": 203, "last_problems": "", "active": 1,
    }  # fmt: skip
    assert tid in listed(repo, state="up")

    # same state and outcome, new problems: the full update, or the problem is lost
    at += 1000
    repo.record([result(claim(), at, Outcome.OK, again, status=200, problems=("slow_response",))])
    assert row(repo, tid)["last_problems"] == "slow_response"
    assert tid in listed(repo, problem="slow_response")
    assert repo.snapshot().problems.get("slow_response") == 1

    # same state, another outcome
    at += 1000
    repo.record(
        [result(claim(), at, Outcome.MOVED, again, status=301, problems=("slow_response",))]
    )
    assert row(repo, tid)["last_outcome"] == "moved"
    assert tid in listed(repo, outcome="moved") and tid not in listed(repo, outcome="ok")

    # another state
    at += 1000
    repo.record([result(claim(), at, Outcome.NOT_FOUND, DOWN, status=404)])
    assert row(repo, tid)["state"] == "down" and row(repo, tid)["last_problems"] == ""
    assert tid in listed(repo, state="down") and tid not in listed(repo, state="up")
    assert "slow_response" not in repo.snapshot().problems
    assert repo.snapshot().provider_down == {"p.com": 1}


def test_retiring_and_reviving_targets_moves_the_active_flag_with_the_schedule(
    repo: Repository,
) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=2)], 0, T0)
    ids = active_ids(repo.engine)  # asserts active is set exactly where next_due is
    assert len(ids) == 4 and len(listed(repo)) == 4
    repo.remove_document("a.txt")
    assert active_ids(repo.engine) == [] and listed(repo) == set()
    assert repo.active_targets() == 0
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=2)], 0, T0 + 1)
    assert active_ids(repo.engine) == ids and listed(repo) == set(ids)
    assert repo.active_targets() == 4
