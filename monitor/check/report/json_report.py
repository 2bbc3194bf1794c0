"""The JSON report: `summary` last, articles streamed one by one.

Key order carries no meaning in JSON, and the summary is only known at the
end, so it is written after the articles.
"""

from __future__ import annotations

import json
import math
from typing import IO, Any

from monitor.check.report.rows import REPORT_VERSION, ArticleEntry, Tally, TargetRow
from monitor.corpus.article import InvalidDocument
from monitor.vocabulary import Problem, Redirect


def target_json(row: TargetRow) -> dict[str, Any]:
    r = row.result
    return {
        "url": row.url,
        "kind": row.ref.kind.value,
        "origin": row.ref.origin.value,
        "field": row.ref.path,
        "outcome": r.outcome.value if r else None,
        "http_status": r.http_status if r else None,
        "final_url": r.final_url if r else None,
        "redirects": [{"status": h.status, "location": h.location} for h in r.redirects]
        if r
        else [],
        "latency_ms": round(r.latency_ms, 1) if r and r.latency_ms is not None else None,
        "attempts": r.attempts if r else 0,
        "error": r.error if r else None,
        "problems": [p.to_json() for p in row.problems],
    }


def article_json(entry: ArticleEntry, rows: list[TargetRow]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "source": entry.source,
        "webUrl": entry.web_url,
        "signature": entry.signature.to_json() if entry.signature else None,
        "problems": [p.to_json() for p in entry.problems],
        "targets": [target_json(row) for row in rows],
    }


# The JSON report writes the text of `article_json` directly: building a dict
# per target and encoding it was most of the report's CPU (a 50,000-target
# report). tests/unit/test_report_json.py holds the text to
# `json.dumps(article_json(...), ensure_ascii=False)`, byte for byte.
_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)
_encode = _ENCODER.encode
_string = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it


def _str_or_null(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _int_or_null(value: int | None) -> str:
    if value is None:
        return "null"
    return int.__repr__(value) if type(value) is int else _encode(value)


def _number_or_null(value: float | None) -> str:
    if value is None:
        return "null"
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    return _encode(value)  # NaN, infinities: as json.dumps spells them


def _redirects_text(redirects: list[Redirect]) -> str:
    return (
        "["
        + ", ".join(
            f'{{"status": {_int_or_null(h.status)}, "location": {_string(h.location)}}}'
            for h in redirects
        )
        + "]"
    )


def _problems_text(problems: list[Problem]) -> str:
    return _encode([p.to_json() for p in problems]) if problems else "[]"


def target_text(row: TargetRow) -> str:
    """`target_json(row)` as JSON text."""
    r, ref = row.result, row.ref
    head = (
        f'{{"url": {_string(row.url)}, "kind": {_string(ref.kind)}, '
        f'"origin": {_string(ref.origin)}, "field": {_string(ref.path)}, '
    )
    problems = _problems_text(row.problems)
    if r is None:
        return (
            f'{head}"outcome": null, "http_status": null, "final_url": null, "redirects": [], '
            f'"latency_ms": null, "attempts": 0, "error": null, "problems": {problems}}}'
        )
    latency = round(r.latency_ms, 1) if r.latency_ms is not None else None
    return (
        f'{head}"outcome": {_string(r.outcome)}, "http_status": {_int_or_null(r.http_status)}, '
        f'"final_url": {_str_or_null(r.final_url)}, "redirects": {_redirects_text(r.redirects)}, '
        f'"latency_ms": {_number_or_null(latency)}, "attempts": {_int_or_null(r.attempts)}, '
        f'"error": {_str_or_null(r.error)}, "problems": {problems}}}'
    )


def article_text(entry: ArticleEntry, rows: list[TargetRow]) -> str:
    """`article_json(entry, rows)` as JSON text."""
    head = _encode(
        {
            "id": entry.id,
            "source": entry.source,
            "webUrl": entry.web_url,
            "signature": entry.signature.to_json() if entry.signature else None,
            "problems": [p.to_json() for p in entry.problems],
        }
    )
    return f'{head[:-1]}, "targets": [{", ".join(target_text(row) for row in rows)}]}}'


class JsonWriter:
    """Streams the report: one article object written as soon as it is complete."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._first = True

    def begin(self, invalid: list[InvalidDocument]) -> None:
        docs = json.dumps([d.to_json() for d in invalid], ensure_ascii=False)
        self.out.write(f'{{"version": {REPORT_VERSION}, "invalid_documents": {docs}, "articles": [')

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.out.write("\n" if self._first else ",\n")
        self._first = False
        self.out.write(article_text(entry, rows))

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        summary = json.dumps(tally.to_json(elapsed_s), ensure_ascii=False)
        self.out.write(f'\n], "summary": {summary}}}\n')
        self.out.flush()
