"""The daemon's decision step: problems, next state and next check, as a pure function."""

from __future__ import annotations

import ast
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.outcome import Decision, Policy, decide, problem_codes
from monitor.daemon.state import State, TargetState
from monitor.targets import TargetRef
from monitor.vocabulary import (
    CheckResult,
    ContentFacts,
    Expectation,
    Kind,
    Origin,
    Outcome,
    Problem,
    ProblemCode,
)

AT = datetime(2026, 12, 4, tzinfo=UTC)
UP_OUTCOMES = [o for o in Outcome if o.is_up]
DOWN_OUTCOMES = [o for o in Outcome if not o.is_up]


def result(outcome: Outcome, **kw: object) -> CheckResult:
    return CheckResult(
        url="https://news.test/a", kind=Kind.WEB, outcome=outcome, checked_at=AT, **kw
    )  # type: ignore[arg-type]


def policy(**kw: float | int) -> Policy:
    values: dict[str, float | int] = {
        "interval": 600.0,
        "retry_interval": 30.0,
        "jitter": 0.0,
        "down_after": 3,
        "up_after": 1,
    }
    values.update(kw)
    return Policy(**values)  # type: ignore[arg-type]


class FixedSpread(random.Random):
    """A jitter source that always answers one end of the range asked for."""

    def __init__(self, end: float) -> None:
        super().__init__(0)
        self.end = end
        self.calls = 0

    def uniform(self, a: float, b: float) -> float:
        self.calls += 1
        return a if self.end < 0 else b


def test_a_healthy_check_is_due_after_the_interval() -> None:
    d = decide(TargetState(State.UP, 0, 4), (), result(Outcome.OK), policy(), random.Random(1))
    assert d.step.after == TargetState(State.UP, 0, 5)
    assert not d.step.changed
    assert d.delay == 600.0
    assert d.next_due_ms(1_000) == 1_000 + 600_000
    assert d.problems == ()


def test_failures_back_off_from_the_retry_interval_and_go_down_after_n() -> None:
    state, delays, states = TargetState(State.UP, 0, 9), [], []
    for _ in range(4):
        d = decide(state, (), result(Outcome.TIMEOUT), policy(), random.Random(1))
        state = d.step.after
        delays.append(d.delay)
        states.append(state.state)
    assert delays == [30.0, 60.0, 120.0, 240.0]
    assert states == [State.UP, State.UP, State.DOWN, State.DOWN]


def test_the_jitter_comes_from_the_injected_source_only() -> None:
    low, high = FixedSpread(-1), FixedSpread(+1)
    p = policy(jitter=0.1)
    assert decide(TargetState(), (), result(Outcome.OK), p, low).delay == 540.0
    assert decide(TargetState(), (), result(Outcome.OK), p, high).delay == 660.0
    assert low.calls == high.calls == 1


def test_problems_join_the_targets_own_and_each_articles_sorted() -> None:
    own = Problem(ProblemCode.SLOW_RESPONSE, "slow")
    ref = TargetRef("a1", Kind.IMAGE, Origin.ARTICLE, Expectation(width=10, height=10))
    other = TargetRef("a2", Kind.IMAGE, Origin.ARTICLE, Expectation(width=5, height=5))
    res = CheckResult(
        url="https://img.test/a.png",
        kind=Kind.IMAGE,
        outcome=Outcome.OK,
        checked_at=AT,
        facts=ContentFacts(content_type="image/png", image_format="png", width=5, height=5),
        problems=[own],
    )
    codes = problem_codes(res, [ref, other])
    assert codes == ("image_dimensions_mismatch", "slow_response")
    d = decide(TargetState(), [ref, other], res, policy(), random.Random(0))
    assert d.problems == codes
    # reference checks are only made on content: a failure keeps the target's own problems
    assert problem_codes(result(Outcome.NOT_FOUND, problems=[own]), [ref]) == ("slow_response",)


states = st.builds(
    TargetState,
    st.sampled_from(list(State)),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
)
policies = st.builds(
    Policy,
    interval=st.floats(min_value=0.01, max_value=1e6),
    retry_interval=st.floats(min_value=0.01, max_value=1e6),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    down_after=st.integers(min_value=1, max_value=10),
    up_after=st.integers(min_value=1, max_value=10),
)


@given(states, st.sampled_from(list(Outcome)), policies, st.integers())
def test_next_check_never_leaves_the_jittered_interval(
    state: TargetState, outcome: Outcome, p: Policy, seed: int
) -> None:
    d = decide(state, (), result(outcome), p, random.Random(seed))
    assert 0 < d.delay <= p.interval * (1 + p.jitter) + 1e-6
    if outcome.is_up:  # a success waits the whole interval, spread by the jitter
        assert d.delay >= p.interval * (1 - p.jitter) - 1e-6 or d.delay == 0.001


@given(
    st.sampled_from([State.UP, State.UNKNOWN]),
    st.integers(min_value=0, max_value=50),
    st.sampled_from(DOWN_OUTCOMES),
    policies.filter(lambda p: p.down_after > 1),
)
def test_one_failure_never_takes_a_healthy_target_down(
    state: State, succs: int, outcome: Outcome, p: Policy
) -> None:
    d = decide(TargetState(state, 0, succs), (), result(outcome), p, random.Random(0))
    assert not d.step.changed
    assert d.step.after.state is state
    assert d.step.after.fails == 1


@given(st.integers(min_value=0, max_value=50), st.sampled_from(UP_OUTCOMES), policies)
def test_one_success_never_brings_a_down_target_up_before_up_after(
    fails: int, outcome: Outcome, p: Policy
) -> None:
    d = decide(TargetState(State.DOWN, fails, 0), (), result(outcome), p, random.Random(0))
    assert d.step.after.state is (State.UP if p.up_after == 1 else State.DOWN)
    assert d.step.after.fails == 0


@given(states, st.sampled_from(list(Outcome)), policies, st.integers())
def test_the_same_inputs_give_the_same_decision(
    state: TargetState, outcome: Outcome, p: Policy, seed: int
) -> None:
    a = decide(state, (), result(outcome), p, random.Random(seed))
    b = decide(state, (), result(outcome), p, random.Random(seed))
    assert isinstance(a, Decision) and a == b


def test_no_module_uses_the_global_random_state() -> None:
    """`random.uniform(...)` and friends share one hidden, seedable-by-anyone state:
    every caller must own a `random.Random` (or take one injected)."""
    root = Path(__file__).resolve().parents[2] / "monitor"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(root)
        attribute_bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                offenders.append(f"{where}:{node.lineno} from random import")
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "random"
                and node.attr not in {"Random", "SystemRandom"}
            ):
                offenders.append(f"{where}:{node.lineno} random.{node.attr}")
            elif (
                isinstance(node, ast.Name)
                and node.id == "random"
                and isinstance(node.ctx, ast.Load)
                and id(node) not in attribute_bases
            ):
                offenders.append(f"{where}:{node.lineno} the module `random` as a value")
    assert offenders == []


@given(
    garbled=st.one_of(
        st.none(),
        st.just(""),
        st.text(max_size=40),
        st.integers(),
        st.binary(max_size=16),
        st.just("0123456789ABCDEF"),  # a key's length, not its alphabet
    ),
    title=st.one_of(st.none(), st.text(max_size=30)),
)
def test_a_checkers_missing_or_garbled_title_key_is_the_parents_own(
    garbled: object, title: str | None
) -> None:
    """A title key from a checker of another version, or a garbled one, never
    raises and never becomes the baseline: the mark holds the parent's key."""
    from monitor.content.simhash import title_key
    from monitor.daemon.outcome import page_mark

    facts = ContentFacts(title=title, h1="A headline", text_hash=7)
    facts.title_key = garbled  # type: ignore[assignment]
    p = policy()
    p = Policy(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "text_tolerance": 3})
    mark = page_mark(result(Outcome.OK, facts=facts), p)
    assert mark is not None
    if isinstance(garbled, str) and len(garbled) == 16 and set(garbled) <= set("0123456789abcdef"):
        assert mark.title_key == garbled  # a key's shape: taken as sent
    else:
        assert mark.title_key == title_key(title, None, "A headline")


def test_a_checkers_title_key_is_taken_as_sent() -> None:
    from monitor.daemon.outcome import page_mark

    facts = ContentFacts(title="T", text_hash=7, title_key="0123456789abcdef")
    p = policy()
    p = Policy(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "text_tolerance": 3})
    mark = page_mark(result(Outcome.OK, facts=facts), p)
    assert mark is not None and mark.title_key == "0123456789abcdef"


@pytest.mark.parametrize("text_hash", [-1, 1 << 64, 1.5, "7", True])
def test_a_garbled_text_hash_makes_no_mark(text_hash: object) -> None:
    """A checker's text hash outside 64 unsigned bits (another version, a bad
    row): stored, it raised OverflowError or TypeError in the result write (not a
    database error), which ended the result writer, and no result was recorded
    again. It makes no mark: the stored baseline stays, as for a failed read."""
    from monitor.daemon.outcome import page_mark

    facts = ContentFacts(title="T", text_hash=text_hash)  # type: ignore[arg-type]
    p = policy()
    p = Policy(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "text_tolerance": 3})
    assert page_mark(result(Outcome.OK, facts=facts), p) is None
    facts.text_hash = (1 << 64) - 1
    assert page_mark(result(Outcome.OK, facts=facts), p) is not None
