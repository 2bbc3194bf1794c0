"""Pure: what crosses a worker's pipes, as JSON lines of batches.

A 50,000-target run sends every target and every result through a pipe
once, so the format is built for cheap encoding and decoding rather than
for reading: one line carries a whole batch (one `json.dumps`/`json.loads`
call and one write per batch, not per item), a result is a positional array
rather than an object, and values equal to their defaults travel as `0`.

    targets line:  [[kind, url], ...]
    results line:  [[key, url|0, kind, outcome, checked_at, status, final_url,
                     redirects|0, latency_ms, attempts, error, facts|0,
                     cert_not_after, problems|0], ...]

`key` is the URL the parent sent (the result's own URL travels only when it
differs), datetimes are ISO 8601 strings (`datetime.fromisoformat` is the
fastest decoder CPython has), `facts` is an array in `_FACTS` order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from monitor.model import (
    CheckResult,
    ContentFacts,
    Kind,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
)

_FACTS = (
    "content_type",
    "canonical",
    "amphtml",
    "is_amp",
    "soft_404",
    "image_format",
    "width",
    "height",
    "bytes_read",
)
_NO_FACTS = ContentFacts()  # a result whose facts equal these sends `0`
_KIND = {k.value: k for k in Kind}
_OUTCOME = {o.value: o for o in Outcome}
_CODE = {c.value: c for c in ProblemCode}
# ASCII output: a lone surrogate in a URL travels as an escape, not as bad UTF-8
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def targets_line(batch: Iterable[tuple[Kind, str]]) -> bytes:
    """One line of targets for a worker's stdin."""
    return (_dumps([[kind.value, url] for kind, url in batch]) + "\n").encode("ascii")


def targets_from_line(line: str | bytes) -> list[tuple[Kind, str]]:
    return [(_KIND[k], url) for k, url in json.loads(line)]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def result_row(key: str, r: CheckResult) -> list[Any]:
    """`r`, the result of checking `key`, as one positional array."""
    facts = r.facts
    return [
        key,
        0 if r.url == key else r.url,
        r.kind.value,
        r.outcome.value,
        r.checked_at.isoformat(),
        r.http_status,
        r.final_url,
        [[h.status, h.location] for h in r.redirects] if r.redirects else 0,
        r.latency_ms,
        r.attempts,
        r.error,
        0 if facts == _NO_FACTS else [getattr(facts, k) for k in _FACTS],
        _time(r.cert_not_after),
        [[p.code.value, p.message, p.field] for p in r.problems] if r.problems else 0,
    ]


def results_line(rows: list[list[Any]]) -> bytes:
    """One line of result rows for a worker's stdout."""
    return (_dumps(rows) + "\n").encode("ascii")


def row_result(row: list[Any]) -> tuple[str, CheckResult]:
    """(key, result) from one row of `results_line`."""
    key, url, kind, outcome, at, status, final, redirects, latency, attempts, error = row[:11]
    facts, cert, problems = row[11:14]
    result = CheckResult(
        url=key if url == 0 else url,
        kind=_KIND[kind],
        outcome=_OUTCOME[outcome],
        checked_at=datetime.fromisoformat(at),
        http_status=status,
        final_url=final,
        latency_ms=latency,
        attempts=attempts,
        error=error,
        cert_not_after=None if cert is None else datetime.fromisoformat(cert),
    )
    if redirects:
        result.redirects = [Redirect(s, loc) for s, loc in redirects]
    if facts:
        result.facts = ContentFacts(**dict(zip(_FACTS, facts, strict=True)))
    if problems:
        result.problems = [Problem(_CODE[c], m, f) for c, m, f in problems]
    return key, result


def results_from_line(line: str | bytes) -> list[tuple[str, CheckResult]]:
    return [row_result(row) for row in json.loads(line)]
