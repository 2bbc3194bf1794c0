"""A leap second (RFC 3339: second 60) is a valid timestamp (session 6): the record
was refused whole ("expected an RFC 3339 timestamp, got '2016-12-31T23:59:60Z'").
The model reads it as the last microsecond of its minute; the record keeps the
text as written, so what was signed is what is verified."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.corpus import parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.keys import KeyRing, SymmetricKey
from monitor.secured.sign import sign_document
from monitor.secured.verify import verify_document

LAST = datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _one(data: bytes, suffix: str = ".json") -> Document | InvalidDocument:
    [item] = parse_bytes("f", data, suffix)
    return item


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2016-12-31T23:59:60Z", LAST),
        ("2016-12-31T23:59:60.5Z", LAST),
        ("2017-01-01T01:59:60+02:00", LAST.astimezone(timezone(timedelta(hours=2)))),
        ("2016-12-31t23:59:60z", LAST),
    ],
)
def test_a_leap_second_is_the_last_instant_of_its_minute(text: str, instant: datetime) -> None:
    record = {"webUrl": "https://e.test/", "publishedDateTime": text,
              "related": [{"webUrl": "https://e.test/r", "updatedDateTime": text}]}  # fmt: skip
    doc = _one(json.dumps(record).encode())
    assert isinstance(doc, Document), doc
    assert doc.article.publishedDateTime == instant
    assert doc.article.related[0].updatedDateTime == instant
    assert doc.raw["publishedDateTime"] == text  # as written
    assert doc.raw["related"][0]["updatedDateTime"] == text


def test_in_front_matter_too() -> None:
    doc = _one(
        b"---\nwebUrl: https://e.test/\npublishedDateTime: 2016-12-31T23:59:60Z\n---\n", ".md"
    )
    assert isinstance(doc, Document) and doc.article.publishedDateTime == LAST


@pytest.mark.parametrize(
    "text", ["2016-12-31T23:59:61Z", "2016-12-31T24:59:60Z", "2016-13-31T23:59:60Z", "23:59:60"]
)
def test_other_impossible_times_are_named_as_written(text: str) -> None:
    record = {"webUrl": "https://e.test/", "publishedDateTime": text, "images": [{"url": "x"}]}
    bad = _one(json.dumps(record).encode())
    assert isinstance(bad, InvalidDocument)
    assert f"publishedDateTime: expected an RFC 3339 timestamp, got {text!r}" in bad.error


def test_a_leap_second_beside_another_fault_is_that_fault_and_the_time() -> None:
    record = {"webUrl": "https://e.test/", "publishedDateTime": "2016-12-31T23:59:60Z",
              "images": [{"url": "https://e.test/i", "width": "wide"}]}  # fmt: skip
    bad = _one(json.dumps(record).encode())
    assert isinstance(bad, InvalidDocument) and "images.0.width" in bad.error


@pytest.mark.parametrize("envelope", ["v2", "legacy"])
def test_a_signed_leap_second_verifies(envelope: str) -> None:
    ring = KeyRing([SymmetricKey("k", b"\x05" * 32, "test")])
    record = {"webUrl": "https://e.test/", "publishedDateTime": "2016-12-31T23:59:60Z"}
    doc = _one(json.dumps(record).encode())
    assert isinstance(doc, Document)
    signed = {**doc.raw, "secured": sign_document(doc.raw, ring, envelope=envelope, kid="k")}  # type: ignore[arg-type]
    assert verify_document(signed, ring).status.value == "valid"
    signed["publishedDateTime"] = "2016-12-31T23:59:59.999999Z"
    assert verify_document(signed, ring).status.value == "tampered"
