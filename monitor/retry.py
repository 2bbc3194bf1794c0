"""Pure retry policy: which failures are transient, and how long to wait.

Separate from the loop that retries (monitor/http), in the spirit of
lychee's `retry.rs`, so the decision is tested exhaustively without a
network. CONTRACT: `--retries N` retries transient failures only: timeouts,
429, 502, 503, 504 and connection resets.

Decisions:
- 408 Request Timeout is retried: it is the server's way of saying "timeout".
- CLOSED (the server closed the connection before any response) is retried:
  it is what a reset looks like on a reused keep-alive connection.
- REFUSED, DNS, TLS and PROTOCOL errors are not: repeating them seconds later
  gives the same answer and only slows the run.
"""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING

from monitor.classify import ErrorKind

if TYPE_CHECKING:
    from monitor.config import Settings

__all__ = [
    "TRANSIENT_ERRORS",
    "TRANSIENT_STATUSES",
    "ErrorKind",
    "backoff_delay",
    "is_transient_error",
    "is_transient_status",
    "parse_retry_after",
    "should_retry",
]

TRANSIENT_STATUSES = frozenset({408, 429, 502, 503, 504})
TRANSIENT_ERRORS = frozenset({ErrorKind.TIMEOUT, ErrorKind.RESET, ErrorKind.CLOSED})


@cache
def _delta() -> re.Pattern[str]:
    """Retry-After's delay in seconds. Compiled at the first Retry-After read,
    not at import (issue 16)."""
    return re.compile(r"[+-]?\d{1,15}(?:\.\d{1,9})?")


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES


def is_transient_error(error: ErrorKind) -> bool:
    return error in TRANSIENT_ERRORS


def should_retry(
    *, attempt: int, retries: int, status: int | None, error: ErrorKind | None
) -> bool:
    """Whether to make another request after `attempt` requests (1 = the first).

    At most `retries` retries, so at most `retries + 1` requests in all. A
    network error decides when present; otherwise the final status does.
    """
    if attempt > retries:
        return False
    if error is not None:
        return is_transient_error(error)
    return status is not None and is_transient_status(status)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    A date or delta in the past gives 0; anything unparseable gives None (the
    caller falls back to its own backoff). A naive `now` is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _delta().fullmatch(text):
        return max(0.0, float(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None,
    retry_after_cap: float,
    rng: random.Random,
) -> float:
    """Seconds to sleep before the request after `attempt` requests (1 = the first).

    A server's Retry-After is honoured, up to `retry_after_cap`. Otherwise
    exponential backoff with full jitter (AWS architecture blog): uniform in
    [0, min(cap, base * 2**(attempt-1))], which spreads the retries of many
    targets that failed together instead of retrying them in lockstep.
    """
    if retry_after is not None and math.isfinite(retry_after):
        return min(max(0.0, retry_after), max(0.0, retry_after_cap))
    exponent = min(max(attempt, 1) - 1, 62)
    ceiling = min(max(0.0, cap), max(0.0, base) * float(2**exponent))
    return rng.uniform(0.0, ceiling)


def tries_seconds(s: Settings) -> float:
    """The longest a target's tries can take: each try's timeout and the waits
    between them (a backoff or a Retry-After, whichever bound is larger)."""
    return (s.retries + 1) * s.timeout + s.retries * max(s.backoff_max, s.retry_after_max)
