"""The start's progress as /healthz reads it (observe/starting.py): a count that
moved is a live start, one still for STALL_AFTER a stalled one, a phase with no
count is live for UNCOUNTED_MOST at most, and a start that is over is healthy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.observe.starting import (
    CHECKING,
    MIGRATING,
    STALL_AFTER,
    UNCOUNTED_MOST,
    StartWatch,
)


class Fake:
    def __init__(self) -> None:
        self.now = 0.0
        self.count = 0

    def clock(self) -> float:
        return self.now

    def progress(self) -> int:
        return self.count


def _watch() -> tuple[StartWatch, Fake]:
    fake = Fake()
    return StartWatch(clock=fake.clock), fake


def test_a_count_that_keeps_moving_is_a_live_start_however_long() -> None:
    watch, fake = _watch()
    watch.begin(CHECKING, fake.progress)
    for _ in range(1000):  # ~a day of probes 90 s apart, each after a read
        fake.now += STALL_AFTER * 1.5
        fake.count += 4096
        assert watch.stalled() is None
        assert watch.status() == "starting: checking the database"


def test_a_count_still_for_the_window_is_a_stalled_start() -> None:
    watch, fake = _watch()
    watch.begin(CHECKING, fake.progress)
    fake.now = STALL_AFTER - 1
    assert watch.stalled() is None
    fake.now = 75.0
    assert watch.stalled() == "start stalled: no database progress for 75 s"
    assert watch.status() == (
        "starting: checking the database (start stalled: no database progress for 75 s)"
    )
    fake.count += 1  # the disk came back: live again
    assert watch.stalled() is None


def test_the_window_counts_from_the_last_move_not_the_begin() -> None:
    watch, fake = _watch()
    watch.begin(CHECKING, fake.progress)
    fake.now, fake.count = 50.0, 10
    assert watch.stalled() is None
    fake.now = 50.0 + STALL_AFTER - 1
    assert watch.stalled() is None
    fake.now = 50.0 + STALL_AFTER
    assert watch.stalled() is not None


def test_an_uncounted_phase_is_live_for_an_hour_at_most() -> None:
    watch, fake = _watch()
    watch.begin(MIGRATING)  # nothing counted: progress while it runs
    fake.now = UNCOUNTED_MOST
    assert watch.stalled() is None
    assert watch.status() == "starting: migrating"
    fake.now = UNCOUNTED_MOST + 1
    assert watch.stalled() == f"start stalled: migrating for over {UNCOUNTED_MOST:.0f} s"


def test_a_new_phase_starts_its_own_window() -> None:
    watch, fake = _watch()
    watch.begin(CHECKING, fake.progress)
    fake.now = STALL_AFTER * 10
    assert watch.stalled() is not None
    watch.begin(MIGRATING)
    assert watch.stalled() is None


def test_a_start_that_is_over_is_healthy_and_says_nothing() -> None:
    watch, fake = _watch()
    assert watch.stalled() is None and watch.status() is None  # never begun
    watch.begin(CHECKING, fake.progress)
    fake.now = STALL_AFTER * 100
    watch.done()
    assert watch.stalled() is None and watch.status() is None


@given(st.lists(st.tuples(st.floats(0, 200), st.booleans()), max_size=40))
def test_stalled_exactly_when_the_count_was_still_for_the_window(
    steps: list[tuple[float, bool]],
) -> None:
    """Against the plain reading: stalled iff no look saw the count move for
    STALL_AFTER (a look that sees it move is the new start of the window)."""
    watch, fake = _watch()
    watch.begin(CHECKING, fake.progress)
    moved_at = 0.0
    for gap, reads in steps:
        fake.now += gap
        if reads:
            fake.count += 1
            moved_at = fake.now
        assert (watch.stalled() is not None) == (fake.now - moved_at >= STALL_AFTER)
