"""The hysteresis state machine and the next-due delay."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.state import State, TargetState, check_delay, is_success, step
from monitor.vocabulary import Outcome

RNG = random.Random(0)  # unused when jitter is 0; required all the same


def run(seq: list[bool], down_after: int = 3, up_after: int = 1) -> list[State]:
    st_ = TargetState()
    out = []
    for ok in seq:
        st_ = step(st_, ok, down_after=down_after, up_after=up_after).after
        out.append(st_.state)
    return out


def test_new_target_is_unknown_until_enough_evidence() -> None:
    assert run([False, False]) == [State.UNKNOWN, State.UNKNOWN]
    assert run([False, False, False]) == [State.UNKNOWN, State.UNKNOWN, State.DOWN]
    assert run([True]) == [State.UP]


def test_down_only_after_n_consecutive_failures() -> None:
    seq = [True, False, False, True, False, False, False]
    assert run(seq) == [State.UP] * 6 + [State.DOWN]


def test_up_again_after_m_successes() -> None:
    seq = [False] * 3 + [True, True, False, True, True]
    assert run(seq, up_after=2) == [State.UNKNOWN] * 2 + [
        State.DOWN,
        State.DOWN,
        State.UP,
        State.UP,
        State.UP,
        State.UP,
    ]


def test_step_reports_changes_only_on_state_change() -> None:
    s = step(TargetState(State.UP, 0, 5), True, down_after=3, up_after=1)
    assert not s.changed and s.after.succs == 6
    s = step(TargetState(State.UP, 2, 0), False, down_after=3, up_after=1)
    assert s.changed and s.before.state is State.UP and s.after.state is State.DOWN


def test_invalid_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        step(TargetState(), True, down_after=0, up_after=1)


def test_only_reachability_counts_as_success() -> None:
    assert {o for o in Outcome if is_success(o)} == {Outcome.OK, Outcome.MOVED}


@given(
    st.lists(st.booleans(), max_size=60),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=5),
)
def test_state_agrees_with_the_run_lengths(seq: list[bool], down_after: int, up_after: int) -> None:
    """Whenever the trailing run reaches a threshold, the state is the run's side;
    and a state never flips on a run shorter than its threshold."""
    cur = TargetState()
    for i, ok in enumerate(seq):
        s = step(cur, ok, down_after=down_after, up_after=up_after)
        run_len = 0
        for prev in reversed(seq[: i + 1]):
            if prev != ok:
                break
            run_len += 1
        if ok and run_len >= up_after:
            assert s.after.state is State.UP
        if not ok and run_len >= down_after:
            assert s.after.state is State.DOWN
        if s.changed:
            assert s.after.state is (State.UP if ok else State.DOWN)
            assert run_len >= (up_after if ok else down_after)
        assert (s.after.fails, s.after.succs) == ((0, run_len) if ok else (run_len, 0))
        cur = s.after


def test_healthy_delay_is_the_interval_without_jitter() -> None:
    assert check_delay(3600, fails=0, retry_interval=60, jitter=0, rng=RNG) == 3600


def test_failure_backoff_doubles_up_to_the_interval() -> None:
    delays = [check_delay(3600, fails=f, retry_interval=60, jitter=0, rng=RNG) for f in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert check_delay(3600, fails=10_000, retry_interval=60, jitter=0, rng=RNG) == 3600


@given(
    st.floats(min_value=0.01, max_value=1e6),
    st.integers(min_value=0, max_value=100),
    st.floats(min_value=0, max_value=1),
    st.integers(),
)
def test_jitter_stays_within_bounds(interval: float, fails: int, jitter: float, seed: int) -> None:
    base = check_delay(interval, fails=fails, retry_interval=60, jitter=0, rng=RNG)
    d = check_delay(
        interval, fails=fails, retry_interval=60, jitter=jitter, rng=random.Random(seed)
    )
    assert d > 0
    assert base * (1 - jitter) - 1e-9 <= d <= base * (1 + jitter) + 1e-9 or d == 0.001
