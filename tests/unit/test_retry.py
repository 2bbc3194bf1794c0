"""Retry policy: transient failures only, bounded attempts, honest waits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.retry import (
    ErrorKind,
    backoff_delay,
    is_transient_error,
    is_transient_status,
    parse_retry_after,
    should_retry,
)

NOW = datetime(2024, 11, 6, 8, 49, 37, tzinfo=UTC)


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_transient_statuses(status: int) -> None:
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [200, 301, 304, 400, 401, 403, 404, 410, 500, 501, 505, 599])
def test_permanent_statuses(status: int) -> None:
    assert not is_transient_status(status)


def test_transient_errors_are_timeouts_resets_and_early_closes() -> None:
    transient = {e for e in ErrorKind if is_transient_error(e)}
    assert transient == {ErrorKind.TIMEOUT, ErrorKind.RESET, ErrorKind.CLOSED}


@pytest.mark.parametrize("retries", [0, 1, 2, 5])
def test_at_most_retries_plus_one_requests(retries: int) -> None:
    attempts = 1
    while should_retry(attempt=attempts, retries=retries, status=503, error=None):
        attempts += 1
    assert attempts == retries + 1


def test_no_retry_of_a_permanent_failure() -> None:
    assert not should_retry(attempt=1, retries=3, status=404, error=None)
    assert not should_retry(attempt=1, retries=3, status=200, error=None)
    assert not should_retry(attempt=1, retries=3, status=None, error=ErrorKind.DNS)
    assert not should_retry(attempt=1, retries=3, status=None, error=ErrorKind.REFUSED)
    assert not should_retry(attempt=1, retries=3, status=None, error=ErrorKind.TLS)
    assert not should_retry(attempt=1, retries=3, status=None, error=None)


def test_an_error_decides_over_a_status() -> None:
    # a 200 whose body timed out is retried; a 503 that then failed DNS is not
    assert should_retry(attempt=1, retries=1, status=200, error=ErrorKind.TIMEOUT)
    assert not should_retry(attempt=1, retries=1, status=503, error=ErrorKind.DNS)


@given(
    st.integers(1, 20),
    st.integers(0, 10),
    st.one_of(st.none(), st.integers(100, 599)),
    st.one_of(st.none(), st.sampled_from(list(ErrorKind))),
)
def test_should_retry_matches_its_definition(
    attempt: int, retries: int, status: int | None, error: ErrorKind | None
) -> None:
    transient = (
        is_transient_error(error)
        if error is not None
        else status is not None and is_transient_status(status)
    )
    assert should_retry(attempt=attempt, retries=retries, status=status, error=error) == (
        attempt <= retries and transient
    )


# --- Retry-After -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Wed, 06 Nov 2024 08:50:37 GMT", 60.0),  # IMF-fixdate
        ("Wednesday, 06-Nov-24 08:51:37 GMT", 120.0),  # RFC 850
        ("Wed Nov  6 08:52:37 2024", 180.0),  # asctime
        ("Wed, 06 Nov 2024 08:00:00 GMT", 0.0),  # in the past
        ("Wed, 06 Nov 2024 09:49:37 +0100", 0.0),  # same instant, another zone
    ],
)
def test_parse_retry_after(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "12 seconds", "1e3", "nan", "inf", "Wed, 99 Foo 2024", "0x10"],
)
def test_unparseable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_naive_now_is_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 06 Nov 2024 08:50:37 GMT", now=naive) == pytest.approx(60.0)


def test_aware_now_in_another_zone() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert parse_retry_after("Wed, 06 Nov 2024 08:50:37 GMT", now=tokyo) == pytest.approx(60.0)


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(value: str) -> None:
    got = parse_retry_after(value, now=NOW)
    assert got is None or got >= 0.0


# --- backoff -----------------------------------------------------------------------


def test_retry_after_is_honoured_and_capped() -> None:
    def delay(retry_after: float) -> float:
        return backoff_delay(
            1,
            base=0.5,
            cap=30.0,
            retry_after=retry_after,
            retry_after_cap=60.0,
            rng=random.Random(),
        )

    assert delay(12.0) == 12.0
    assert delay(45.0) == 45.0  # over the backoff cap, under the Retry-After cap
    assert delay(3600.0) == 60.0
    assert delay(0.0) == 0.0


def test_full_jitter_grows_exponentially_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 30.0), (200, 30.0)]:
        delays = [
            backoff_delay(
                attempt, base=0.5, cap=30.0, retry_after=None, retry_after_cap=60.0, rng=rng
            )
            for _ in range(400)
        ]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.9 * ceiling  # spread over the whole range, not fixed
        assert min(delays) < 0.1 * ceiling


def test_same_seed_same_delays() -> None:
    def run(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [
            backoff_delay(a, base=1.0, cap=10.0, retry_after=None, retry_after_cap=5.0, rng=rng)
            for a in range(1, 6)
        ]

    assert run(3) == run(3)
    assert run(3) != run(4)


@given(
    st.integers(-5, 10_000),
    st.floats(0, 100),
    st.floats(0, 1000),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.floats(0, 1000),
)
def test_backoff_is_always_within_bounds(
    attempt: int, base: float, cap: float, retry_after: float | None, ra_cap: float
) -> None:
    delay = backoff_delay(
        attempt,
        base=base,
        cap=cap,
        retry_after=retry_after,
        retry_after_cap=ra_cap,
        rng=random.Random(0),
    )
    assert 0.0 <= delay <= max(cap, ra_cap)
