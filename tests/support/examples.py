"""How many examples a slow property draws (`max_examples`), by the profile loaded
in tests/conftest.py.

A developer's run (the `deterministic` profile) draws the full count, new examples
each run: that is where a property finds something, then pinned with @example. CI
(the `ci` profile, derandomize=True) replays the same examples at every run, so the
draws past a few hundred re-check inputs it checked at the last run, at a cost of
a worker's minute over the slowest four: there they are a third of the count, and
never fewer than `floor`. The pinned @examples run under both."""

from __future__ import annotations

from hypothesis import settings


def examples(n: int, floor: int = 300) -> int:
    if settings().derandomize:
        return max(floor, n // 3)
    return n
