"""Pure: a target's state with hysteresis, and when to check it next.

A single failed check does not make a target `down`: flapping links would
page someone for nothing. It takes `down_after` consecutive failures; it
takes `up_after` consecutive successes to come back. Until either happens a
new target is `unknown`. Only reachability counts (CONTRACT: `ok` and
`moved` are up); content findings such as a canonical mismatch are problems,
not downtime.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from monitor.vocabulary import Outcome


class State(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TargetState:
    state: State = State.UNKNOWN
    fails: int = 0  # consecutive failed checks
    succs: int = 0  # consecutive successful checks


@dataclass(frozen=True, slots=True)
class Step:
    before: TargetState
    after: TargetState

    @property
    def changed(self) -> bool:
        return self.before.state is not self.after.state


def is_success(outcome: Outcome) -> bool:
    return outcome.is_up


def step(prev: TargetState, success: bool, *, down_after: int, up_after: int) -> Step:
    """The state after one more check result."""
    if down_after < 1 or up_after < 1:
        raise ValueError("down_after and up_after must be at least 1")
    if success:
        fails, succs = 0, prev.succs + 1
        state = State.UP if succs >= up_after and prev.state is not State.UP else prev.state
    else:
        fails, succs = prev.fails + 1, 0
        state = State.DOWN if fails >= down_after and prev.state is not State.DOWN else prev.state
    return Step(prev, TargetState(state, fails, succs))


def check_delay(
    interval: float,
    *,
    fails: int,
    retry_interval: float,
    jitter: float,
    rng: random.Random,
) -> float:
    """Seconds until the next check.

    A healthy target waits `interval`. A failing one is re-checked sooner so
    that it reaches `down` (or recovers) quickly: `retry_interval` after the
    first failure, doubling with each further failure, never longer than
    `interval`. Either delay is spread by ±`jitter` (a fraction) so targets
    added together do not stay in lockstep. `rng` is the caller's own source
    (seeded in tests), never the global `random` module state.
    """
    if interval <= 0:
        raise ValueError("interval must be positive")
    base = interval
    if fails > 0:
        exponent = min(fails - 1, 62)
        base = min(interval, retry_interval * (2.0**exponent))
    if jitter <= 0:
        return base
    spread = rng.uniform(-jitter, jitter)
    return max(base * (1.0 + spread), 0.001)
