"""The JSON report's writer (orjson, json.dumps where orjson would differ) writes the
document json.dumps writes for the report dicts."""

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


def canonical(text: str) -> str:
    """`text` as json.dumps writes the same document (spacing and number spelling
    carry no meaning; NaN and Infinity survive the round trip)."""
    return dumps(json.loads(text))


def an_entry() -> ArticleEntry:
    return ArticleEntry("a", "a.txt", 1, "https://h.example/a", None, [], [])


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
@example(TargetRow("\ud800", TargetRef("a", Kind.WEB, Origin.ARTICLE), None, []))
def test_a_target_is_written_as_json_dumps_writes_it(row: TargetRow) -> None:
    entry = an_entry()
    assert canonical(article_text(entry, [row])) == dumps(article_json(entry, [row]))


@given(floats, ints)
@example(float("nan"), True)
@example(float("inf"), 2**64)
@example(float("-inf"), -1)
@example(-0.0, 0)
@example(1e300, 0)
@example(0.1, 2**63)
def test_numbers_keep_their_json_dumps_values(latency: float, number: int) -> None:
    """orjson writes NaN and infinities as null and refuses integers beyond 64 bits:
    those articles are written by json.dumps."""
    result = CheckResult(
        "u", Kind.WEB, Outcome.OK, NOW, http_status=number, latency_ms=latency, attempts=number
    )
    row = TargetRow("u", TargetRef("a", Kind.WEB, Origin.ARTICLE), result, [])
    entry = an_entry()
    assert canonical(article_text(entry, [row])) == dumps(article_json(entry, [row]))


@given(entries, st.lists(rows, max_size=3))
def test_article_text_is_the_json_of_article_json(
    entry: ArticleEntry, targets: list[TargetRow]
) -> None:
    assert canonical(article_text(entry, targets)) == dumps(article_json(entry, targets))


def test_enum_members_are_written_as_their_values() -> None:
    result = CheckResult("u", Kind.AMP, Outcome.NOT_FOUND, NOW, http_status=404)
    row = TargetRow("u", TargetRef("a", Kind.AMP, Origin.RELATED), result, [])
    (target,) = json.loads(article_text(an_entry(), [row]))["targets"]
    assert (target["kind"], target["origin"], target["outcome"]) == ("amp", "related", "not_found")
    assert type(target["kind"]) is str


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
