"""A member that heartbeats but records nothing while holding claims (issue 14):
found stuck by itself, marked in the database beside its row, placed out for a
lease, and cleared by a recorded result. Time is injected (the progress mark)."""

from __future__ import annotations

import time

from sqlalchemy import text
from test_cluster_storage import row

from monitor.config import Settings
from monitor.daemon.cluster import Membership, _steady
from monitor.storage.cluster import STUCK
from monitor.storage.repository import Repository

TIMEOUT = 60_000


def holding_member(repo: Repository) -> tuple[Membership, dict[str, int]]:
    """Member "a" of a cluster with a 30 s lease, holding 3 claims with 5 results
    recorded so far; the test moves `state` and the member's clocks."""
    settings = Settings(lease_seconds=30.0)
    state = {"held": 3, "recorded": 5}
    m = Membership(
        repo,
        lambda: settings,
        in_flight=list,
        hosts=lambda: None,
        held=lambda: state["held"],
        recorded=lambda: state["recorded"],
        member_id="a",
    )
    m.clustered = True
    return m, state


def test_the_stuck_mark_is_shown_placed_out_for_its_time_and_dropped_with_the_member(
    repo: Repository,
) -> None:
    repo.heartbeat(row("a"), TIMEOUT, TIMEOUT)
    now = repo.db_now()
    view = repo.heartbeat(row("b"), TIMEOUT, None, (now, now + 600_000))
    b = next(m for m in view.members if m.id == "b")
    assert b.stuck and b.out and b.stuck_since == now
    assert [m.id for m in view.stuck] == ["b"]
    assert [m.id for m in repo.cluster(TIMEOUT).stuck] == ["b"]  # the `cluster` command's read
    # out no longer, still stuck until it records a result
    view = repo.heartbeat(row("b"), TIMEOUT, None, (now, now - 1))
    b = next(m for m in view.members if m.id == "b")
    assert b.stuck and not b.out
    view = repo.heartbeat(row("b"), TIMEOUT, None, None)
    assert view.stuck == ()
    # a clean stop drops the mark with the row; a dead member's row is not stuck
    repo.heartbeat(row("b"), TIMEOUT, None, (now, now))
    repo.leave("b")
    assert repo.get_meta(STUCK + "b") is None
    repo.heartbeat(row("c"), TIMEOUT, None, (now, now))
    with repo.engine.begin() as conn:  # silent beyond the timeout each published
        conn.execute(
            text("UPDATE cluster_members SET heartbeat_at = heartbeat_at - :ms"),
            {"ms": 10 * TIMEOUT},
        )
    assert [m.id for m in repo.cluster(TIMEOUT).stuck] == []  # every member dead: none stuck


def test_a_mark_left_by_a_forgotten_member_is_dropped(repo: Repository) -> None:
    repo.set_meta(STUCK + "gone", '{"since": 1, "out_until": 2}')
    repo.heartbeat(row("a"), TIMEOUT, TIMEOUT)
    assert repo.get_meta(STUCK + "gone") is None


def test_holding_claims_a_whole_lease_with_nothing_recorded_is_stuck_until_a_result(
    repo: Repository,
) -> None:
    m, state = holding_member(repo)
    m._beats, m._last_ok = 2, _steady()
    m._buckets = frozenset({1, 2})
    assert not m.judge_progress()  # the first look: progress from here
    m._progress = (5, time.monotonic() - 29)  # 29 s of nothing: not yet
    assert not m.judge_progress()
    m._progress = (5, time.monotonic() - 31)
    assert m.judge_progress()
    assert m.stuck_since is not None and m.stuck_detail() is not None
    assert m.scope() == (False, frozenset())  # placed out: claims nothing
    m._progress = (5, time.monotonic() - 31)
    assert not m.judge_progress()  # placed out once per lease, not at every beat
    view = repo.heartbeat(row("a"), TIMEOUT, None, (m.stuck_since, m._out_until))
    assert [x.id for x in view.stuck] == ["a"]
    state["recorded"] = 6
    assert not m.judge_progress()
    assert m.stuck_since is None and m.stuck_detail() is None


def test_an_idle_member_is_never_stuck(repo: Repository) -> None:
    settings = Settings(lease_seconds=30.0)
    m = Membership(repo, lambda: settings, in_flight=list, hosts=lambda: None, member_id="a")
    m.clustered = True
    m._progress = (0, time.monotonic() - 3600)
    assert not m.judge_progress()
    assert m.stuck_since is None


def test_a_stuck_member_that_comes_back_with_nothing_due_is_no_longer_stuck(
    repo: Repository,
) -> None:
    """Stuck, placed out for a lease, back with nothing of its hosts due (the others
    checked them meanwhile): idle, not stuck. The mark stayed until its next
    result, an interval or more away, and ClusterMemberStuck fired all along."""
    m, state = holding_member(repo)
    m._beats, m._last_ok = 2, _steady()
    m.judge_progress()
    m._progress = (5, time.monotonic() - 31)
    assert m.judge_progress() and m.stuck_since is not None
    state["held"] = 0  # its checks dropped
    assert not m.judge_progress()
    assert m.stuck_since is not None  # still placed out: the mark stays
    m._out_until = m.now() - 1  # free to claim again, for less than a lease
    assert not m.judge_progress() and m.stuck_since is not None
    m._out_until = m.now() - 30_001  # a whole lease free to claim, and it holds nothing
    assert not m.judge_progress()
    assert m.stuck_since is None and m.stuck_detail() is None


def test_a_member_still_holding_claims_after_its_time_out_stays_stuck(
    repo: Repository,
) -> None:
    m, _state = holding_member(repo)
    m.judge_progress()
    m._progress = (5, time.monotonic() - 31)
    assert m.judge_progress()
    m._out_until = m.now() - 30_001
    m._progress = (5, time.monotonic())
    assert not m.judge_progress()
    assert m.stuck_since is not None  # it claimed again and records nothing: stuck


def test_a_mark_nested_deeper_than_the_parser_goes_is_shown_not_stuck(repo: Repository) -> None:
    repo.heartbeat(row("a"), TIMEOUT, None)
    repo.set_meta(STUCK + "a", "[" * 100_000)  # written by hand or by a broken writer
    view = repo.heartbeat(row("b"), TIMEOUT, None)  # raised RecursionError: no heartbeat
    assert {m.id for m in view.live} == {"a", "b"} and view.stuck == ()
    assert repo.cluster(TIMEOUT).stuck == ()
