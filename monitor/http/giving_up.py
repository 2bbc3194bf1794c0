"""`check`'s bound on a host that refuses everything: once the host has refused
enough of its targets, over as many rounds as one target's tries and for as
long as one target's tries take, the run asks it nothing more.

Without it, a host answering every request `429 Retry-After: 60` held
`check` for (targets on it) x (retries + 1) / per_host rounds of 60 s: 500
images on one CDN took hours while every other host was done in seconds.
Each request waits its turn at the host's gate (hostpool.py), and every
refusal pushes the host's next turn back by the Retry-After.

A refusal is a 429 or a 503 (the answers that back the host off: its
Retry-After honoured, or the doubling backoff) or no answer within the
timeout. Any other answer of the host (a 2xx, a 404, a redirect) ends its
run of refusals. Within a run, what counts is refusals to targets' *first*
tries: a host that serves most paths and limits a few refuses only their
retries at the end of a run (they queue behind the rest), which must not
give it up. A round is such a refusal to a request sent once the previous
round's wait was over: the requests of one wave, sent together before the
host said anything, count as one round.

The host is given up at a refusal of a first try once all three hold:
`retries + 1` rounds (the evidence one target's every try gives: each retry
after the wait the host asked for), the first tries of at least
`FIRST_TRIES_PER_ROUND x (retries + 1)` targets, and a run lasting at least
one target's tries (`retry.tries_seconds`: (retries + 1) x timeout + retries
x max(backoff_max, retry_after_max), 150 s at the defaults) since its first
refused request was sent. The span is what keeps a healthy host: a deploy
answering `503 Retry-After: 1` for a few seconds, a per-path limiter whose
limited paths come first in the host's queue, a host refusing every other
request with `--retries 0` (each filled the rounds and first tries within a
few seconds, and had its served targets reported refused). A host whose
refusals outlast one target's tries is one that would have refused a
target's every try anyway: the limit that stays (limited paths first in the
queue for longer than that still give the host up).

From then on in the run, its targets not requested yet get the outcome the
refusals give (`rate_limited` for 429, `http_error` for 503, `timeout`) and
an `error` that says they were not requested, and no target on it is
retried. So a refusing host holds `check` for about one target's tries plus
the round that ends them (at most about twice one target's tries), whatever
the number of its targets, and it gets about `per_host` requests per wait
it asks for (or per timeout) over that span, never more than every target's
every try. Several refusing hosts are judged each on its own: each holds its
own targets that long, side by side (their waits overlap; `concurrency`
permitting).

Only `check` gives up (one-shot, it must end): the daemon keeps honouring
the host's Retry-After over time and checks every target in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.classify import ErrorKind
from monitor.retry import tries_seconds
from monitor.urls import host_key
from monitor.vocabulary import Outcome

if TYPE_CHECKING:
    from monitor.config import Settings

REFUSALS = frozenset({429, 503})  # the statuses that back a host off (hostpool.record)
# targets whose first try was refused, per round needed: with per_host 1 the
# rounds alone would give a host up on the first tries of retries + 1 targets,
# a few refusing paths that happened to be next to each other in the corpus
FIRST_TRIES_PER_ROUND = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why `check` gave up on a host: what it answered, how many times in a row."""

    outcome: Outcome
    status: int | None  # None: it did not answer within the timeout
    requests: int  # refusals in a row when it was given up
    targets: int  # of those, targets' first tries
    rounds: int

    def _said(self, who: str = "its host") -> str:
        among = f"(the first tries of {self.targets} targets among them) in {self.rounds} rounds"
        if self.status is None:
            return (
                f"{who} did not answer its last {self.requests} requests within the timeout {among}"
            )
        return (
            f"{who} answered {self.status} to its last {self.requests} requests "
            f"{among}, waiting between them"
        )

    @property
    def not_requested(self) -> str:
        return f"not requested: {self._said()}; `check` asked it nothing more"

    @property
    def not_retried(self) -> str:
        return f"not retried: {self._said()}; `check` asked it nothing more"

    @property
    def not_followed(self) -> str:
        """A target whose own host answered, with a redirect to the given-up host:
        its host was asked (attempts counts it), the redirect's was not."""
        return (
            f"redirect not followed: {self._said('the host it leads to')}; "
            "`check` asked that host nothing more"
        )


class _Run:
    """A host's refusals in a row: how many, how many to first tries, in how many
    rounds, when the last round's wait ends (a request sent after it starts the
    next round)."""

    __slots__ = ("firsts", "requests", "round_end", "rounds", "start")

    def __init__(self, start: float) -> None:
        self.start = start  # when the run's first refused request was sent
        self.requests = 0
        self.firsts = 0
        self.rounds = 0
        self.round_end = float("-inf")


class GivingUp:
    """The hosts refusing now (their runs of refusals) and those given up."""

    def __init__(self, retries: int, *, span: float = 0.0) -> None:
        self.rounds = retries + 1
        self.firsts = FIRST_TRIES_PER_ROUND * (retries + 1)
        # how long a run of refusals must have lasted (one target's tries)
        self.span = span
        self.runs: dict[str, _Run] = {}  # only hosts whose last answer was a refusal
        self.given_up: dict[str, Refusal] = {}

    @classmethod
    def of(cls, settings: Settings) -> GivingUp:
        """`check`'s rule for `settings`: its rounds, and a span of one target's
        every try and wait (`retry.tries_seconds`)."""
        return cls(settings.retries, span=tries_seconds(settings))

    def refusal(self, host: str) -> Refusal | None:
        """Why `host` (any spelling) was given up, or None."""
        given = self.given_up
        if not given:
            return None
        return given.get(host) or given.get(host_key(host))

    def answered(
        self,
        key: str,
        sent: float,
        status: int | None,
        error: ErrorKind | None,
        *,
        first: bool,
        now: float,
        wait_end: float,
    ) -> bool:
        """Note the host's answer to a request sent at `sent` (monotonic), a
        target's first try if `first`; whether the host is given up (by this
        answer or before). `key`: its gate's key; `wait_end`: when its backoff
        ends now."""
        if key in self.given_up:
            return True  # an answer in flight when it was given up
        if error is ErrorKind.TIMEOUT:
            status = None
        elif error is not None:
            return False  # reset, refused, ...: says nothing either way
        elif status not in REFUSALS:
            if self.runs:
                self.runs.pop(key, None)
            return False
        run = self.runs.get(key)
        if run is None:
            run = self.runs[key] = _Run(sent)
        run.requests += 1
        if not first:
            return False  # a retry (or a probe): the target was refused already
        run.firsts += 1
        if sent >= run.round_end:  # sent once the last round's wait was over
            run.rounds += 1
            run.round_end = max(now, wait_end)
        if run.rounds < self.rounds or run.firsts < self.firsts or now - run.start < self.span:
            return False
        del self.runs[key]
        outcome = (
            Outcome.TIMEOUT
            if status is None
            else (Outcome.RATE_LIMITED if status == 429 else Outcome.HTTP_ERROR)
        )
        self.given_up[key] = Refusal(outcome, status, run.requests, run.firsts, run.rounds)
        return True
