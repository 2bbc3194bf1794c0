"""The JSON report: `summary` last, articles streamed one by one.

Key order carries no meaning in JSON, and the summary is only known at the
end, so it is written after the articles. An article is encoded by orjson,
~1.6x faster than the hand-written text it replaced (bench/report_json.py);
tests/unit/test_report_json.py holds its text to the document json.dumps
writes for `article_json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

import orjson

from monitor.check.invalid_spill import InvalidList, batches
from monitor.check.report.rows import REPORT_VERSION, ArticleEntry, Tally, TargetRow
from monitor.corpus.article import InvalidDocument


def target_json(row: TargetRow) -> dict[str, Any]:
    """One target of the report; enum members stand for their values (StrEnum:
    both encoders write the value, and `.value` is a slow Python property)."""
    r, ref = row.result, row.ref
    problems = [p.to_json() for p in row.problems] if row.problems else []
    if r is None:
        return {
            "url": row.url,
            "kind": ref.kind,
            "origin": ref.origin,
            "field": ref.path,
            "outcome": None,
            "http_status": None,
            "final_url": None,
            "redirects": [],
            "latency_ms": None,
            "attempts": 0,
            "error": None,
            "problems": problems,
        }
    latency = r.latency_ms
    return {
        "url": row.url,
        "kind": ref.kind,
        "origin": ref.origin,
        "field": ref.path,
        "outcome": r.outcome,
        "http_status": r.http_status,
        "final_url": r.final_url,
        "redirects": [{"status": h.status, "location": h.location} for h in r.redirects]
        if r.redirects
        else [],
        "latency_ms": None if latency is None else round(latency, 1),
        "attempts": r.attempts,
        "error": r.error,
        "problems": problems,
    }


def article_json(entry: ArticleEntry, rows: list[TargetRow]) -> dict[str, Any]:
    """One article of the report, its targets included."""
    return {
        "id": entry.id,
        "source": entry.source,
        "webUrl": entry.web_url,
        "signature": entry.signature.to_json() if entry.signature else None,
        "problems": [p.to_json() for p in entry.problems],
        "targets": [target_json(row) for row in rows],
    }


def article_text(entry: ArticleEntry, rows: list[TargetRow]) -> str:
    """`article_json(entry, rows)` as JSON text: orjson (bench/report_json.py), or
    json.dumps for what orjson would not write as json.dumps does (a lone
    surrogate, an integer beyond 64 bits: orjson refuses them; a NaN or
    infinite latency: orjson writes null)."""
    document = article_json(entry, rows)
    for row in rows:
        r = row.result
        if r is not None and (latency := r.latency_ms) is not None and latency - latency != 0:
            return _dumps(document)  # NaN or infinite
    try:
        return orjson.dumps(document).decode()
    except orjson.JSONEncodeError:
        return _dumps(document)


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, check_circular=False)


def invalid_texts(invalid: Iterable[InvalidDocument], per: int = 1_000) -> Iterable[str]:
    """The `invalid_documents` array's members as JSON text, `per` at a time
    (joined by ", ", exactly as json.dumps writes the whole list): a corpus may
    hold millions of them, and the list of them all cost ~700 MB."""
    for batch in batches(invalid, per):
        yield json.dumps([d.to_json() for d in batch], ensure_ascii=False)[1:-1]


class JsonWriter:
    """Streams the report: one article object written as soon as it is complete."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._first = True

    def begin(self, invalid: InvalidList) -> None:
        self.out.write(f'{{"version": {REPORT_VERSION}, "invalid_documents": [')
        for n, text in enumerate(invalid_texts(invalid)):
            self.out.write(", " + text if n else text)
        self.out.write('], "articles": [')

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.out.write("\n" if self._first else ",\n")
        self._first = False
        self.out.write(article_text(entry, rows))

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        summary = json.dumps(tally.to_json(elapsed_s), ensure_ascii=False)
        self.out.write(f'\n], "summary": {summary}}}\n')
        self.out.flush()
