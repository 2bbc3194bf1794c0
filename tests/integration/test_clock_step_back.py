"""A clock that ran ahead and was set right (NTP stepping it back, a VM resumed with a
wrong clock): the targets checked meanwhile were queued at that clock's time plus
their interval, so each waited the interval plus the whole step. The heartbeat now
sees the step and pulls their due times in: none is due further from now than its
kind's interval (and jitter), each checked one keeps its delay. On SQLite and
PostgreSQL, with the cluster's clock injected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from test_storage import FP, record

from monitor.config import Settings
from monitor.daemon.clock_step import SLACK_MS, schedule_bounds
from monitor.daemon.cluster import Membership
from monitor.daemon.state import State, TargetState
from monitor.storage.repository import DUE, TARGETS, CheckRecord, Claimed, Repository, now_ms
from monitor.storage.tables import OUTCOME_CODES
from monitor.vocabulary import Kind, Outcome

DAY = 86_400_000
UP = TargetState(State.UP, 0, 1)
SETTINGS = Settings()  # intervals: web, amp, cdn an hour, images six; jitter 0.1


def interval_ms(claim: Claimed) -> int:
    return int(SETTINGS.interval_for(claim.kind) * 1000)


def checked(claim: Claimed, at: int) -> CheckRecord:
    """The record of an OK check decided at `at`: due again an interval later."""
    return CheckRecord(
        target_id=claim.id,
        lease=claim.lease,
        checked_at=at,
        outcome=OUTCOME_CODES[Outcome.OK],
        outcome_name="ok",
        http_status=200,
        latency_ms=5,
        problems=(),
        before=claim.state,
        after=UP,
        next_due=at + interval_ms(claim),
    )


def member(repo: Repository, clock: list[int]) -> Membership:
    m = Membership(repo, lambda: SETTINGS, in_flight=list, hosts=lambda: None, member_id="a")
    m.now = lambda: clock[0]  # type: ignore[method-assign]
    return m


def schedule(repo: Repository) -> dict[int, tuple[str, int | None, int | None]]:
    """Each active target's (kind, next due, last checked)."""
    with repo.engine.connect() as conn:
        rows: Any = conn.execute(
            select(TARGETS.c.id, TARGETS.c.kind, TARGETS.c.next_due, TARGETS.c.last_checked_at)
            .where(TARGETS.c.next_due.is_not(None))
            .order_by(TARGETS.c.id)
        ).all()
    return {tid: (kind, due, at) for tid, kind, due, at in rows}


def queue(repo: Repository) -> set[tuple[int, int]]:
    with repo.engine.connect() as conn:
        return {(d, t) for d, t in conn.execute(select(DUE.c.due, DUE.c.target_id))}


def checked_ahead(repo: Repository, t0: int, ahead: int) -> tuple[set[int], set[int]]:
    """Two articles stored at t0 and checked on the clock `ahead` (a day on), and a
    third stored while it ran ahead, never checked. Their target ids."""
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, t0)
    claims = repo.claim_due(ahead, 100, 300_000)
    repo.record([checked(c, ahead) for c in claims])
    repo.store_document("b.txt", FP, [record("https://new.test/x/")], 0, ahead)
    fresh = set(schedule(repo)) - {c.id for c in claims}
    assert fresh
    return {c.id for c in claims}, fresh


def test_a_step_back_pulls_in_what_the_clock_ahead_scheduled(repo: Repository) -> None:
    t0 = now_ms()
    ids, fresh = checked_ahead(repo, t0, t0 + DAY)
    clock = [t0 + DAY]
    m = member(repo, clock)
    m.beat({})  # the clock as it ran: nothing moves
    assert all(due >= t0 + DAY for _, due, _ in schedule(repo).values())
    clock[0] = now = t0 + 60_000  # set right
    for _ in range(3):  # the step, then the second walk
        m.beat({})
    bounds = schedule_bounds(SETTINGS)
    after = schedule(repo)
    for tid, (kind, due, at) in after.items():
        assert due is not None and due <= now + bounds[kind], (tid, kind, due - now)
        if tid in ids:  # checked a day ahead: its interval from now, as decided
            assert at is not None
            assert due == now + int(SETTINGS.interval_for(Kind(kind)) * 1000)
        else:  # stored a day ahead, never checked: due now
            assert tid in fresh and due == now
    assert queue(repo) == {(due, tid) for tid, (_, due, _) in after.items()}
    # every one is claimed again within its interval of now
    later = repo.claim_due(now + int(SETTINGS.intervals.image * 1000), 100, 300_000)
    assert {c.id for c in later} == set(after)


def test_a_daemon_started_after_the_clock_was_set_right_sees_the_step(
    repo: Repository,
) -> None:
    """Stopped while the clock ran ahead: the last check recorded says how far."""
    t0 = now_ms()
    checked_ahead(repo, t0, t0 + DAY)
    clock = [t0 + 60_000]
    m = member(repo, clock)
    for _ in range(3):
        m.beat({})
    bounds = schedule_bounds(SETTINGS)
    assert all(due <= clock[0] + bounds[k] for k, due, _ in schedule(repo).values())


def test_a_schedule_within_its_bounds_is_left_as_it_is(repo: Repository) -> None:
    """Images due six hours on, pages an hour on, from checks on a clock that did
    not step; a small step back (under the slack) moves nothing either."""
    t0 = now_ms()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(3)], 0, t0)
    claims = repo.claim_due(t0, 100, 300_000)
    repo.record([checked(c, t0) for c in claims])
    before = schedule(repo)
    clock = [t0]
    m = member(repo, clock)
    m.beat({})
    clock[0] = t0 + 10 * 60_000
    m.beat({})
    clock[0] -= SLACK_MS // 2
    m.beat({})
    assert schedule(repo) == before


def test_a_forward_step_makes_everything_due_at_once(repo: Repository) -> None:
    """The other way (a clock that ran behind, set right): every due time set on
    it is in the past, so each target is claimed at once, oldest first."""
    t0 = now_ms()
    behind = t0 - DAY
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, behind)
    claims = repo.claim_due(behind, 100, 300_000)
    repo.record([checked(c, behind) for c in claims])
    assert {c.id for c in repo.claim_due(t0, 100, 300_000)} == {c.id for c in claims}


@pytest.mark.parametrize("page", [1, 2, 5])
def test_the_walk_goes_page_by_page_over_the_whole_queue(repo: Repository, page: int) -> None:
    t0 = now_ms()
    ids, fresh = checked_ahead(repo, t0, t0 + DAY)
    now = t0 + 60_000
    bounds = schedule_bounds(SETTINGS)
    moved, rest, calls = 0, None, 0
    while True:
        calls += 1
        got = repo.pull_in_page(now, bounds, rest, page=page)
        moved, rest = moved + got.moved, got.rest
        if rest is None:
            break
    assert moved == len(ids | fresh)
    assert calls >= len(ids | fresh) // page
    assert repo.pull_in_page(now, bounds).moved == 0  # done: nothing more to move
