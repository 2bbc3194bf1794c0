"""Pure: CheckResult <-> one JSON line, for results crossing a process boundary.

Compact on purpose (short keys, empty values left out): a 50,000-target run
sends every result through a pipe once.
"""

from __future__ import annotations

import json
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
_NO_FACTS = ContentFacts()  # members equal to these defaults are left out


def result_to_line(r: CheckResult) -> str:
    d: dict[str, Any] = {"u": r.url, "k": r.kind.value, "o": r.outcome.value}
    d["t"] = r.checked_at.isoformat()
    if r.http_status is not None:
        d["s"] = r.http_status
    if r.final_url is not None:
        d["f"] = r.final_url
    if r.redirects:
        d["r"] = [[h.status, h.location] for h in r.redirects]
    if r.latency_ms is not None:
        d["l"] = r.latency_ms
    d["a"] = r.attempts
    if r.error is not None:
        d["e"] = r.error
    facts = {k: v for k in _FACTS if (v := getattr(r.facts, k)) != getattr(_NO_FACTS, k)}
    if facts:
        d["c"] = facts
    if r.cert_not_after is not None:
        d["x"] = r.cert_not_after.isoformat()
    if r.problems:
        d["p"] = [[p.code.value, p.message, p.field] for p in r.problems]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def result_from_line(line: str | bytes) -> CheckResult:
    d = json.loads(line)
    facts = ContentFacts(**d.get("c", {}))
    return CheckResult(
        url=d["u"],
        kind=Kind(d["k"]),
        outcome=Outcome(d["o"]),
        checked_at=datetime.fromisoformat(d["t"]),
        http_status=d.get("s"),
        final_url=d.get("f"),
        redirects=[Redirect(s, loc) for s, loc in d.get("r", ())],
        latency_ms=d.get("l"),
        attempts=d.get("a", 0),
        error=d.get("e"),
        facts=facts,
        cert_not_after=datetime.fromisoformat(d["x"]) if "x" in d else None,
        problems=[Problem(ProblemCode(c), m, f) for c, m, f in d.get("p", ())],
    )
