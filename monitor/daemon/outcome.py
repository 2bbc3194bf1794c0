"""Pure: what one finished check means for its target.

The daemon's decision step, apart from the writer, the metrics and the logs
that act on it: the problem codes the check found for every article that
refers to the target, the target's next state (hysteresis, `state.step`) and
when to check it again (`state.check_delay`, spread by an injected random
source, never the global `random` module state). Values in, a value out:
the service turns the decision into a database record, a metric and a log line.
The page's text mark (content/simhash.py) rides along: the writer compares it
with the stored one, in the transaction that stores it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.classify import findings
from monitor.config import Settings
from monitor.content.drift import DEFAULT_RULES, PageRules
from monitor.content.simhash import BITS, PageMark, title_key
from monitor.daemon.state import Step, TargetState, check_delay, is_success, step
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Kind


@dataclass(frozen=True, slots=True)
class Policy:
    """The schedule and hysteresis settings that apply to one target's kind."""

    interval: float
    retry_interval: float
    jitter: float
    down_after: int
    up_after: int
    rules: PageRules = DEFAULT_RULES  # the page checks (content drift, redirect to root)
    text_tolerance: int | None = None  # own-drift check: simhash bits allowed; None: off


def policy_for(settings: Settings, kind: Kind) -> Policy:
    """The policy the settings give one kind of target."""
    return Policy(
        interval=settings.interval_for(kind),
        retry_interval=settings.retry_interval,
        jitter=settings.interval_jitter,
        down_after=settings.down_after,
        up_after=settings.up_after,
        rules=settings.page_rules(),
        text_tolerance=settings.text_drift_bits if settings.text_drift else None,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    problems: tuple[str, ...]  # sorted problem codes, the target's own and each article's
    step: Step
    delay: float  # seconds from now until the next check
    page: PageMark | None = None  # the page's text mark, compared with the stored one

    def next_due_ms(self, now_ms: int) -> int:
        return now_ms + int(self.delay * 1000)


def problem_codes(
    result: CheckResult, refs: Iterable[TargetRef], rules: PageRules = DEFAULT_RULES
) -> tuple[str, ...]:
    """The codes of every problem of `result`, as seen by any of the articles."""
    codes = {p.code.value for p in result.problems}
    for ref in refs:
        codes.update(p.code.value for p in findings(result, ref, rules))
    return tuple(sorted(codes))


def decide(
    state: TargetState,
    refs: Iterable[TargetRef],
    result: CheckResult,
    policy: Policy,
    rng: random.Random,
) -> Decision:
    """The target's problems, next state and next-check delay after `result`."""
    moved = step(
        state, is_success(result.outcome), down_after=policy.down_after, up_after=policy.up_after
    )
    delay = check_delay(
        policy.interval,
        fails=moved.after.fails,
        retry_interval=policy.retry_interval,
        jitter=policy.jitter,
        rng=rng,
    )
    return Decision(
        problem_codes(result, refs, policy.rules), moved, delay, page_mark(result, policy)
    )


_KEY_SHAPE = re.compile("[0-9a-f]{16}")  # simhash.title_key of a non-empty title
_HASHES = 1 << BITS  # a text hash is unsigned, below this


def page_mark(result: CheckResult, policy: Policy) -> PageMark | None:
    """The mark of a web/AMP page that loaded and had enough text; None otherwise
    (a page that failed to load is never "changed": the stored mark stays)."""
    facts = result.facts
    if (
        policy.text_tolerance is None
        or not result.kind.is_article_page
        or not result.outcome.is_up
        or facts.text_hash is None
    ):
        return None
    if facts.text_hash.__class__ is not int or not 0 <= facts.text_hash < _HASHES:
        return None  # a garbled hash from a checker: its write raised and ended the writer
    key = facts.title_key  # taken where the page was read (http/reading.py)
    if key.__class__ is not str or not _KEY_SHAPE.fullmatch(key):
        # none (a test, an older checker), or not a key's shape (a garbled one): the
        # same rule here (a garbled key became the baseline, unequal to the rule's)
        key = title_key(facts.title, facts.og_title, facts.h1)
    return PageMark(facts.text_hash, key, policy.text_tolerance)
