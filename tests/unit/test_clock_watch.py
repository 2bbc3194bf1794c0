"""The heartbeat's watch on the cluster's clock: the queue is walked only after a
step back beyond the slack (a clock that only goes forward costs one read of the
last check, at the first beat), to its end, and a second time if the first moved
anything (results decided before the step and written after it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import monitor.daemon.clock_step as clock_step
from monitor.config import Settings
from monitor.daemon.clock_step import SLACK_MS, ClockWatch, schedule_bounds
from monitor.storage.schedule import Page

S = Settings()


class Repo:
    def __init__(
        self,
        last_check: str | None,
        pages: list[Page],
        dialect: str = "sqlite",
        high: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self.dialect = dialect
        self.last_check = last_check
        self.high = high  # the furthest due time and lease end stored
        self.pages = pages
        self.walked: list[tuple[int, Any]] = []
        self.expired: list[int] = []  # when the leases taken ahead were made to run out

    def get_meta(self, key: str) -> str | None:
        return self.last_check

    def schedule_high(self) -> tuple[int | None, int | None]:
        return self.high

    def expire_leases_ahead(self, now: int, horizon: int) -> int:
        self.expired.append(now)
        return 0

    def pull_in_page(self, now: int, bounds: Any, before: Any = None) -> Page:
        self.walked.append((now, before))
        return self.pages.pop(0) if self.pages else Page(0, None)


def beats(watch: ClockWatch, repo: Any, readings: list[int]) -> None:
    for now in readings:
        watch.beat(repo, now, S)


def test_a_clock_going_forward_walks_nothing() -> None:
    repo = Repo("1000", [])
    beats(ClockWatch(), repo, [2000, 4000, 4000 + SLACK_MS // 2, 3 * SLACK_MS, 10**13])
    assert repo.walked == []


def test_a_step_back_under_the_slack_walks_nothing() -> None:
    repo = Repo(None, [])
    beats(ClockWatch(), repo, [10 * SLACK_MS, 10 * SLACK_MS - SLACK_MS + 1, 10 * SLACK_MS])
    assert repo.walked == []


def test_a_step_back_walks_the_queue_to_its_end_then_once_more() -> None:
    repo = Repo(None, [Page(3, (9, 1)), Page(1, None), Page(0, None)])
    watch = ClockWatch()
    assert not watch.beat(repo, 100 * SLACK_MS, S)  # type: ignore[arg-type]
    assert watch.beat(repo, 2 * SLACK_MS, S)  # type: ignore[arg-type]  # the step
    assert repo.walked == [(2 * SLACK_MS, None)]
    beats(watch, repo, [2 * SLACK_MS + 1, 2 * SLACK_MS + 2, 2 * SLACK_MS + 3, 2 * SLACK_MS + 4])
    # the first walk went on from where its page ended; the second moved nothing: done
    assert [b for _, b in repo.walked] == [None, (9, 1), None]


def test_a_last_check_ahead_of_the_first_reading_is_a_step_back() -> None:
    """A daemon stopped while the clock ran ahead, started after it was set right."""
    repo = Repo(str(100 * SLACK_MS), [Page(0, None)])
    beats(ClockWatch(), repo, [SLACK_MS, SLACK_MS + 1])
    assert repo.walked == [(SLACK_MS, None)]
    assert repo.expired == [SLACK_MS]  # no holder of ours lives yet: at once


def test_an_unreadable_last_check_is_unknown_not_no_history(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Read as 0 it hid a step back made while the daemon was stopped, unlogged: the
    queue is walked as after a step seen at the start, and the value said once."""
    repo = Repo("not a number", [Page(0, None)])
    watch = ClockWatch()
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        assert watch.beat(repo, SLACK_MS, S)  # type: ignore[arg-type]
        beats(watch, repo, [SLACK_MS + 1, SLACK_MS + 2])
    assert repo.walked == [(SLACK_MS, None)]
    assert repo.expired == [SLACK_MS]
    said = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(said) == 1 and "not a number" in said[0], said


def test_an_unreadable_last_check_is_said_once_across_failed_first_beats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A first beat whose walk fails is tried again: the warning is not repeated."""
    repo = Repo("garbage", [])
    failing = {"n": 2}

    def pull_in_page(now: int, bounds: Any, before: Any = None) -> Page:
        if failing["n"]:
            failing["n"] -= 1
            raise OperationalError("walk", {}, Exception("locked"))
        return Page(0, None)

    repo.pull_in_page = pull_in_page  # type: ignore[method-assign]
    watch = ClockWatch()
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        beats(watch, repo, [SLACK_MS, SLACK_MS + 1, SLACK_MS + 2])
    assert sum("unreadable" in r.getMessage() for r in caplog.records) == 1


def test_a_due_time_beyond_any_delay_is_a_witness_of_a_step() -> None:
    """A run on a clock ahead that stored targets but recorded nothing left no last
    check: the furthest due time stored says how far that clock had got."""
    longest = max(schedule_bounds(S).values())
    repo = Repo(None, [Page(0, None)], high=(100 * SLACK_MS + longest, None))
    beats(ClockWatch(), repo, [SLACK_MS, SLACK_MS + 1])
    assert repo.walked == [(SLACK_MS, None)]


def test_a_lease_beyond_two_leases_is_a_witness_of_a_step() -> None:
    """A killed `run --once` on a clock ahead claimed (its due rows became leases)
    and recorded nothing; a lease within two leases' length of now is no step (a
    member may run with a longer lease)."""
    lease = int(S.lease_seconds * 1000)
    near = Repo(None, [], high=(None, 10 * SLACK_MS + 2 * lease))
    beats(ClockWatch(), near, [10 * SLACK_MS, 10 * SLACK_MS + 1])
    assert near.walked == []
    far = Repo(None, [Page(0, None)], high=(None, 100 * SLACK_MS + 2 * lease))
    beats(ClockWatch(), far, [SLACK_MS, SLACK_MS + 1])
    assert far.walked == [(SLACK_MS, None)]
    assert far.expired == [SLACK_MS]


def test_a_schedule_within_its_delays_is_no_witness() -> None:
    longest = max(schedule_bounds(S).values())
    repo = Repo("1000", [], high=(SLACK_MS + longest, SLACK_MS + int(S.lease_seconds * 1000)))
    beats(ClockWatch(), repo, [SLACK_MS, SLACK_MS + 1])
    assert repo.walked == []


def test_leases_taken_ahead_run_out_a_lease_after_a_step_seen_while_running() -> None:
    """A live holder records within its lease; a second step restarts the wait."""
    lease = int(S.lease_seconds * 1000) + SLACK_MS
    repo = Repo(None, [])
    watch = ClockWatch()
    beats(watch, repo, [100 * lease, 10 * lease, 10 * lease + lease - 1])
    assert repo.expired == []
    beats(watch, repo, [5 * lease, 6 * lease - 1])  # stepped again before the end
    assert repo.expired == []
    beats(watch, repo, [6 * lease, 6 * lease + 1, 7 * lease])
    assert repo.expired == [6 * lease]  # once


def test_a_step_seen_at_the_start_is_walked_whole_in_the_first_beat() -> None:
    """Nothing claims before it ends (`run --once` ends before a page a beat)."""
    repo = Repo(str(100 * SLACK_MS), [Page(1, (9, 3)), Page(1, (9, 2)), Page(1, None)])
    ClockWatch().beat(repo, SLACK_MS, S)  # type: ignore[arg-type]
    assert [b for _, b in repo.walked] == [None, (9, 3), (9, 2)]


def test_a_cluster_members_start_walk_stops_at_a_third_of_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member silent for the timeout is dead to the others: the rest of the walk
    goes on a page a beat."""
    seconds = [0.0]

    def steady() -> float:  # each look at the clock: a tenth of the timeout on
        seconds[0] += S.cluster_timeout / 10
        return seconds[0]

    monkeypatch.setattr(clock_step, "_steady", steady)
    pages = [Page(1, (9, 100 - n)) for n in range(20)] + [Page(1, None)]
    repo = Repo(str(100 * SLACK_MS), pages, dialect="postgresql")
    watch = ClockWatch()
    watch.beat(repo, SLACK_MS, S)  # type: ignore[arg-type]
    first = len(repo.walked)
    assert 1 < first < 5
    watch.beat(repo, SLACK_MS + 1, S)  # type: ignore[arg-type]
    assert len(repo.walked) == first + 1
