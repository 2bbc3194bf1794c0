"""What a start reads to tell a step back of the clock made while the daemon was
stopped: the last check (stamped with the cluster's clock, not a member's own),
and the furthest due time and lease end stored (a run on a clock ahead that
stored or claimed targets but recorded nothing). On SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from test_clock_step_back import DAY, SETTINGS, checked, member, schedule
from test_storage import FP, record

from monitor.daemon.clock_step import schedule_bounds
from monitor.storage.repository import LAST_CHECK_KEY, Repository, now_ms

LEASE_MS = int(SETTINGS.lease_seconds * 1000)


@pytest.mark.postgres
def test_a_member_ahead_of_the_database_makes_no_false_step_at_the_others_start(
    pg_repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    """A member whose own clock runs two minutes ahead records a check: the last
    check was its clock's, and every member's start then saw a step back of two
    minutes, logged it and read the far end of the due queue."""
    repo = pg_repo
    t0 = repo.db_now()
    repo.store_document("a.txt", FP, [record("https://n.test/x/")], 0, t0)
    claims = repo.claim_due(t0, 100, LEASE_MS)
    ahead = now_ms() + 120_000  # the member's own clock
    repo.record([checked(c, ahead) for c in claims])
    stamped = int(repo.get_meta(LAST_CHECK_KEY) or 0)
    assert stamped < ahead - 60_000  # the database's clock, not the member's
    walked: list[int] = []
    pull_in = repo.pull_in_page
    repo.pull_in_page = lambda now, *a, **k: walked.append(now) or pull_in(now, *a, **k)  # type: ignore[method-assign]
    clock = [repo.db_now()]
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        member(repo, clock).beat({})
    assert walked == []
    assert not [r for r in caplog.records if "stepped back" in r.getMessage()]


def test_targets_stored_on_a_clock_ahead_with_nothing_recorded_are_pulled_in(
    repo: Repository,
) -> None:
    """A run on a clock a day ahead stored (and queued) targets, then was stopped
    before it recorded a check: no last check says the step, the due times do."""
    t0 = now_ms()
    docs = [record(f"https://n.test/{i}/") for i in range(2)]
    repo.store_document("a.txt", FP, docs, 0, t0 + DAY)
    assert repo.get_meta(LAST_CHECK_KEY) is None
    clock = [t0 + 60_000]
    member(repo, clock).beat({})  # the start after the clock was set right
    bounds = schedule_bounds(SETTINGS)
    assert all(due <= clock[0] + bounds[k] for k, due, _ in schedule(repo).values())


def test_leases_taken_on_a_clock_ahead_with_nothing_recorded_run_out_at_the_start(
    repo: Repository,
) -> None:
    """A `run --once` on a clock a day ahead claimed (its due rows became leases)
    and was killed: its leases are the only trace of the clock it ran on."""
    t0 = now_ms()
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(2)], 0, t0)
    claims = repo.claim_due(t0 + DAY, 100, LEASE_MS)
    assert claims and repo.get_meta(LAST_CHECK_KEY) is None
    clock = [t0 + 60_000]
    member(repo, clock).beat({})
    again = repo.claim_due(clock[0], 100, LEASE_MS)
    assert {c.id for c in again} == {c.id for c in claims}


def test_an_unreadable_last_check_is_unknown_to_the_status_not_a_traceback(
    repo: Repository,
) -> None:
    """`status` and `/metrics` read it too: `int()` of it raised at every read."""
    repo.set_meta(LAST_CHECK_KEY, "garbage")
    assert repo.snapshot().last_check_ms is None
    repo.set_meta(LAST_CHECK_KEY, "１２")  # digits, but not ASCII ones
    assert repo.snapshot().last_check_ms is None
