"""A number in `publishedDateTime`/`updatedDateTime` is refused as a bad date is,
never read as Unix time (CONTRACT section 1: RFC 3339)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.records import to_document

URL = "https://news.example.com/a"


def _error(value: object, field: str = "publishedDateTime") -> str:
    item = to_document("doc.json", 1, {"webUrl": URL, field: value})
    assert isinstance(item, InvalidDocument), item
    return item.error


@pytest.mark.parametrize("field", ["publishedDateTime", "updatedDateTime"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1587064080, "1587064080"),
        (1587064080.5, "1587064080.5"),
        (0, "0"),
        (-1, "-1"),
        ("1587064080", "'1587064080'"),
        ("1587064080.5", "'1587064080.5'"),
        (" 1587064080 ", "' 1587064080 '"),
        ("1e9", "'1e9'"),
    ],
)
def test_a_number_is_reported_like_a_bad_string_date(field: str, value: object, shown: str) -> None:
    assert _error(value, field) == f"field {field}: expected an RFC 3339 timestamp, got {shown}"
    assert _error("yesterday", field) == (
        f"field {field}: expected an RFC 3339 timestamp, got 'yesterday'"
    )


def test_a_number_in_a_related_article_is_refused_too() -> None:
    item = to_document(
        "doc.json", 1, {"webUrl": URL, "related": [{"webUrl": URL, "updatedDateTime": 1}]}
    )
    assert isinstance(item, InvalidDocument)
    assert item.error == "field related.0.updatedDateTime: expected an RFC 3339 timestamp, got 1"


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_no_number_is_ever_a_date(value: float) -> None:
    for raw in (value, str(value)):
        assert "expected an RFC 3339 timestamp" in _error(raw)


@pytest.mark.parametrize(
    "value",
    ["2020-04-16T19:08:00Z", "2020-04-16T19:08:00+02:00", "2020-04-16 19:08:00.5Z", None],
)
def test_rfc3339_timestamps_still_pass(value: str | None) -> None:
    item = to_document("doc.json", 1, {"webUrl": URL, "publishedDateTime": value})
    assert isinstance(item, Document), item


def test_the_line_of_the_field_is_named_in_yaml_and_json() -> None:
    (yaml_item,) = parse_text(
        "doc.txt", f"---\nwebUrl: {URL}\ntitle: t\npublishedDateTime: 1587064080\n---\n", ".txt"
    )
    assert isinstance(yaml_item, InvalidDocument)
    assert yaml_item.line == 4
    assert "publishedDateTime: expected an RFC 3339 timestamp, got 1587064080" in yaml_item.error
    lines = "\n".join(
        json.dumps({"webUrl": URL, "updatedDateTime": v}) for v in ("2020-04-16T19:08:00Z", 7)
    )
    good, bad = parse_text("doc.jsonl", lines + "\n", ".jsonl")
    assert isinstance(good, Document)
    assert isinstance(bad, InvalidDocument) and bad.line == 2
