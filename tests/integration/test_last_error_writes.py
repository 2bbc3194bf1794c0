"""The result writer keeps each target's last error and each transition's: set
with the state, changed alone while the state stays (refused, then reset), kept
while it is the same, cleared by a check without one. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from monitor.daemon.state import State, TargetState
from monitor.storage.repository import CheckRecord, Repository, now_ms
from monitor.storage.tables import OUTCOME_CODES
from monitor.vocabulary import Outcome


def check(repo: Repository, outcome: Outcome, error: str | None, after: State) -> None:
    (claim,) = repo.claim_due(now_ms() + 10**9, 1, 600_000)
    at = now_ms()
    before = claim.state
    fails = before.fails + 1 if outcome is not Outcome.OK else 0
    repo.record(
        [
            CheckRecord(
                claim.id, claim.lease, at, OUTCOME_CODES[outcome], outcome.value, None, 5, (),
                before, TargetState(after, fails, 0 if fails else 1), 0, error=error,
            )
        ]
    )  # fmt: skip


def test_the_last_error_follows_each_result_and_a_transition_keeps_its_own(
    repo: Repository,
) -> None:
    with repo.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, state, fails, succs, next_due, active,"
                " last_problems) VALUES (1, 'https://a.test/', 'web', 'unknown', 0, 0, 0, 1, '')"
            )
        )
        conn.execute(text("INSERT INTO due_queue (due, target_id) VALUES (0, 1)"))

    def stored() -> tuple[object, list[tuple[object, ...]]]:
        with repo.engine.connect() as conn:
            last = conn.scalar(text("SELECT last_error FROM targets WHERE id = 1"))
            trans = conn.execute(text("SELECT to_state, error FROM transitions ORDER BY id"))
            return last, [tuple(r) for r in trans]

    check(repo, Outcome.CONNECTION_ERROR, "connection refused", State.DOWN)
    assert stored() == ("connection refused", [("down", "connection refused")])
    # the same state, outcome and problems: only the error moved (no transition)
    check(repo, Outcome.CONNECTION_ERROR, "connection reset by peer", State.DOWN)
    assert stored() == ("connection reset by peer", [("down", "connection refused")])
    check(repo, Outcome.CONNECTION_ERROR, "connection reset by peer", State.DOWN)
    assert stored()[0] == "connection reset by peer"
    check(repo, Outcome.OK, None, State.UP)
    assert stored() == (None, [("down", "connection refused"), ("up", None)])
