"""The rule by which `check` gives up on a host (monitor/http/giving_up.py), on a
made-up clock: rounds, first tries, and what ends a run of refusals."""

from __future__ import annotations

from monitor.classify import ErrorKind
from monitor.config import Settings
from monitor.http.giving_up import GivingUp
from monitor.vocabulary import Outcome

HOST = "cdn.test"


def wave(g: GivingUp, at: float, n: int, status: int | None = 429, *, first: bool = True) -> bool:
    """`n` requests sent together at `at`, each refused one after the other
    (a second later, the host's wait ending a second after that)."""
    error = ErrorKind.TIMEOUT if status is None else None
    given = False
    for _ in range(n):
        given = g.answered(HOST, at, status, error, first=first, now=at + 1.0, wait_end=at + 2.0)
    return given


def test_one_wave_is_one_round_however_many_it_holds() -> None:
    g = GivingUp(retries=1)  # 2 rounds, 4 first tries
    assert not wave(g, 0.0, 50)
    assert g.refusal(HOST) is None
    assert wave(g, 2.0, 1)  # sent once the wait was over: the second round
    refusal = g.refusal("CDN.test.")  # any spelling of the host
    assert refusal is not None
    assert (refusal.outcome, refusal.status, refusal.requests, refusal.rounds) == (
        Outcome.RATE_LIMITED,
        429,
        51,
        2,
    )
    assert refusal.not_requested.startswith("not requested: its host answered 429 to its last 51")


def test_a_request_sent_before_the_wait_ended_is_the_same_round() -> None:
    g = GivingUp(retries=1)
    assert not wave(g, 0.0, 2)
    assert not wave(g, 1.5, 5)  # sent before the wait's end (2.0)
    assert wave(g, 2.0, 1)


def test_rounds_alone_are_not_enough_without_enough_targets() -> None:
    g = GivingUp(retries=1)
    assert not wave(g, 0.0, 1)
    assert not wave(g, 2.0, 1)  # two rounds, two first tries: a few limited paths
    assert not wave(g, 4.0, 1)
    assert wave(g, 6.0, 1)  # the fourth target's first try


def test_retries_do_not_count_and_any_other_answer_starts_again() -> None:
    g = GivingUp(retries=1)
    assert not wave(g, 0.0, 3, first=False)
    assert not wave(g, 2.0, 3, first=False)
    assert not wave(g, 4.0, 3, first=False)  # only retries refused: never given up
    assert not wave(g, 6.0, 3)
    assert not g.answered(HOST, 7.0, 200, None, first=True, now=7.5, wait_end=0.0)
    assert not wave(g, 8.0, 1)  # the count starts again
    # a reset says nothing either way: the run goes on
    assert not g.answered(HOST, 9.0, None, ErrorKind.RESET, first=True, now=9.5, wait_end=0.0)
    assert wave(g, 10.0, 3)
    assert g.answered(HOST, 11.0, 200, None, first=True, now=11.5, wait_end=0.0)  # given up


def test_503_and_timeouts_give_their_outcomes() -> None:
    for status, outcome, said in [
        (503, Outcome.HTTP_ERROR, "answered 503 to its last"),
        (None, Outcome.TIMEOUT, "did not answer its last 4 requests within the timeout"),
    ]:
        g = GivingUp(retries=1)
        assert not wave(g, 0.0, 2, status)
        assert wave(g, 2.0, 2, status)
        refusal = g.refusal(HOST)
        assert refusal is not None and refusal.outcome is outcome
        assert said in refusal.not_retried


def test_no_retries_one_round_of_two_targets() -> None:
    g = GivingUp(retries=0)
    assert not wave(g, 0.0, 1)
    assert wave(g, 0.0, 1)


def test_a_run_shorter_than_one_targets_tries_gives_nothing_up() -> None:
    """With a span (one target's tries), rounds and first tries are not enough:
    the run of refusals must have lasted that long since its first refused
    request was sent; any other answer starts the span again."""
    g = GivingUp(retries=1, span=5.0)
    assert not wave(g, 0.0, 2)
    assert not wave(g, 2.0, 2)  # two rounds, four first tries, 3 s (answered at 3.0)
    assert not wave(g, 3.0, 2, first=False)  # retries never end it
    assert g.answered(HOST, 4.0, 429, None, first=True, now=5.0, wait_end=6.0)  # 5 s
    g = GivingUp(retries=1, span=5.0)
    assert not wave(g, 0.0, 2)
    assert not wave(g, 2.0, 2)
    assert not g.answered(HOST, 3.5, 200, None, first=True, now=3.6, wait_end=0.0)
    assert not wave(g, 4.0, 2)  # a new run from 4.0: rounds and span again
    assert not wave(g, 6.0, 2)
    assert wave(g, 8.0, 2)  # answered at 9.0: 5 s since 4.0


def test_the_span_is_one_targets_tries_of_the_settings() -> None:
    settings = Settings(retries=2, timeout=10.0, backoff_max=30.0, retry_after_max=60.0)
    assert GivingUp.of(settings).span == 3 * 10.0 + 2 * 60.0
