"""The JSON report's direct text writer is `json.dumps` of the report dicts, byte for byte."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.check.report import (
    ArticleEntry,
    JsonWriter,
    Tally,
    TargetRow,
    article_json,
    article_text,
    target_json,
    target_text,
)
from monitor.corpus.article import InvalidDocument
from monitor.targets import TargetRef
from monitor.vocabulary import (
    CheckResult,
    Kind,
    Origin,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
    SignatureResult,
    SignatureStatus,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# quotes, backslashes, control characters, non-ASCII, lone surrogates
texts = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(
    ['"', "\\", "\x00\n\t", "é", "\u2028", "\ud800", "https://h.example/p?q=1"]
)
ints = st.integers(-(2**70), 2**70) | st.booleans()
floats = st.floats(allow_nan=True, allow_infinity=True) | st.integers(0, 10**6)

problems = st.lists(
    st.builds(Problem, st.sampled_from(ProblemCode), texts, st.none() | texts), max_size=2
)
results = st.builds(
    CheckResult,
    url=texts,
    kind=st.sampled_from(Kind),
    outcome=st.sampled_from(Outcome),
    checked_at=st.just(NOW),
    http_status=st.none() | ints,
    final_url=st.none() | texts,
    redirects=st.lists(st.builds(Redirect, ints, texts), max_size=2),
    latency_ms=st.none() | floats,
    attempts=ints,
    error=st.none() | texts,
)
rows = st.builds(
    TargetRow,
    url=texts,
    ref=st.builds(
        TargetRef,
        article_id=texts,
        kind=st.sampled_from(Kind),
        origin=st.sampled_from(Origin),
        path=texts,
    ),
    result=st.none() | results,
    problems=problems,
)
entries = st.builds(
    ArticleEntry,
    id=texts,
    source=texts,
    line=st.integers(1, 10**6),
    web_url=texts,
    signature=st.none()
    | st.builds(SignatureResult, st.sampled_from(SignatureStatus), st.lists(texts).map(tuple)),
    problems=problems,
    refs=st.just([]),
)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=300)
@given(rows)
@example(
    TargetRow(
        "https://h.example/a",
        TargetRef("a1", Kind.IMAGE, Origin.PROVIDER, path="provider.images.0.url"),
        CheckResult("u", Kind.IMAGE, Outcome.OK, NOW, http_status=200, latency_ms=12.34),
        [],
    )
)
def test_target_text_is_json_dumps_of_target_json(row: TargetRow) -> None:
    assert target_text(row) == dumps(target_json(row))


@given(floats, ints)
@example(float("nan"), True)
@example(float("inf"), 2**64)
@example(float("-inf"), -1)
@example(-0.0, 0)
@example(1e300, 0)
def test_numbers_are_spelt_as_json_dumps_spells_them(latency: float, number: int) -> None:
    result = CheckResult(
        "u", Kind.WEB, Outcome.OK, NOW, http_status=number, latency_ms=latency, attempts=number
    )
    row = TargetRow("u", TargetRef("a", Kind.WEB, Origin.ARTICLE), result, [])
    assert target_text(row) == dumps(target_json(row))


@given(entries, st.lists(rows, max_size=3))
def test_article_text_is_json_dumps_of_article_json(
    entry: ArticleEntry, targets: list[TargetRow]
) -> None:
    assert article_text(entry, targets) == dumps(article_json(entry, targets))


def test_the_written_report_is_the_json_of_its_articles() -> None:
    entry = ArticleEntry(
        "0123456789abcdef",
        "a.jsonl",
        1,
        "https://h.example/a",
        SignatureResult(SignatureStatus.MISSING, detail="no `secured` field"),
        [Problem(ProblemCode.MISSING_FIELD, "title is missing", "title")],
        [],
    )
    row = TargetRow(
        "https://h.example/a", TargetRef("0123456789abcdef", Kind.WEB, Origin.ARTICLE), None, []
    )
    out = io.StringIO()
    writer = JsonWriter(out)
    writer.begin([InvalidDocument("b.json", 3, "invalid JSON")])
    writer.article(entry, [row])
    writer.article(entry, [])
    writer.finish(Tally(), 0.5)
    report = json.loads(out.getvalue())
    assert report["articles"] == [article_json(entry, [row]), article_json(entry, [])]
    assert report["invalid_documents"] == [{"source": "b.json", "line": 3, "error": "invalid JSON"}]
