"""A lease taken on a clock that ran ahead, whose holder never records (it died, or
its writer dropped the result): after the step back its end lies the whole step
ahead, so its target went unchecked for that long (a day ahead: a day), though a
dead checker's lease is meant to run out after `lease_seconds`. The heartbeat
now expires such leases once `lease_seconds` have passed since the step (a live
holder has recorded by then). On SQLite and PostgreSQL, the clock injected."""

from __future__ import annotations

import functools

import pytest
from test_clock_step_back import DAY, SETTINGS, checked, checked_ahead, member, schedule
from test_storage import FP, record

from monitor.daemon.clock_step import SLACK_MS, schedule_bounds
from monitor.storage.repository import LAST_CHECK_KEY, Repository, now_ms

LEASE_MS = int(SETTINGS.lease_seconds * 1000)


def test_a_lease_taken_on_the_clock_ahead_runs_out_lease_seconds_after_the_step(
    repo: Repository,
) -> None:
    t0 = now_ms()
    ahead = t0 + DAY
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, t0)
    claims = repo.claim_due(ahead, 100, LEASE_MS)  # on the clock ahead
    lost, kept = claims[0], claims[1:]  # one holder dies; the other records late
    clock = [ahead]
    m = member(repo, clock)
    m.beat({})
    clock[0] = now = t0 + 60_000  # set right
    m.beat({})  # the step
    assert repo.claim_due(now, 100, LEASE_MS) == []  # a live holder keeps its lease
    repo.record([checked(c, now) for c in kept])  # the live holder's result counts
    clock[0] = now + LEASE_MS // 2
    m.beat({})
    assert repo.claim_due(clock[0], 100, LEASE_MS) == []  # not yet: lease_seconds
    clock[0] = later = now + LEASE_MS + SLACK_MS
    m.beat({})
    m.beat({})
    again = repo.claim_due(later, 100, LEASE_MS)
    assert [c.id for c in again] == [lost.id]  # the dead holder's target, not the day


def test_leases_without_a_step_are_left_to_run_out(repo: Repository) -> None:
    t0 = now_ms()
    repo.store_document("a.txt", FP, [record("https://n.test/x/")], 0, t0)
    claims = repo.claim_due(t0, 100, LEASE_MS)
    clock = [t0]
    m = member(repo, clock)
    for n in range(3):
        clock[0] = t0 + n * LEASE_MS // 2
        m.beat({})
    assert repo.claim_due(t0 + LEASE_MS - 1, 100, LEASE_MS) == []
    again = repo.claim_due(t0 + LEASE_MS, 100, LEASE_MS)
    assert {c.id for c in again} == {c.id for c in claims}


def test_a_step_seen_at_the_start_is_walked_whole_before_the_first_claim(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --once` (a timer's) claims right after its first heartbeat and ends before
    a page a beat has walked the queue; its results, stamped on the clock set right,
    then hide the step from the next start. So a step seen at the first reading is
    walked whole in that beat (nothing claims yet)."""
    t0 = now_ms()
    ids, fresh = checked_ahead(repo, t0, t0 + DAY)
    assert len(ids | fresh) > 2  # more than a page
    monkeypatch.setattr(repo, "pull_in_page", functools.partial(repo.pull_in_page, page=2))
    clock = [t0 + 60_000]
    member(repo, clock).beat({})  # the first beat of a start after the clock was set right
    bounds = schedule_bounds(SETTINGS)
    late = {t for t, (k, due, _) in schedule(repo).items() if due > clock[0] + bounds[k]}
    assert late == set()


def test_leases_taken_ahead_run_out_at_once_when_the_step_is_seen_at_the_start(
    repo: Repository,
) -> None:
    """A start after the clock was set right (a `run --once` killed while the clock
    ran ahead, then the next pass): no holder lives in this process, and a pass
    ends before `lease_seconds`, its results hiding the step from the next one."""
    t0 = now_ms()
    repo.store_document("a.txt", FP, [record("https://n.test/x/")], 0, t0)
    repo.claim_due(t0 + DAY, 100, LEASE_MS)
    repo.set_meta(LAST_CHECK_KEY, str(t0 + DAY))  # that pass recorded other checks
    clock = [t0 + 60_000]
    member(repo, clock).beat({})
    assert repo.claim_due(clock[0], 100, LEASE_MS) != []
