"""A top-level `.json` article object over the cap of one record keeps, past the
cap, only the names that tell what it is: it kept every name, and a 100 MB object
of 8.3M small members peaked at 728 MiB before it was refused."""

from __future__ import annotations

from support.traced import traced

from monitor.corpus.article import InvalidDocument
from monitor.corpus.json_stream import parse_json

MEMBERS = 100_000


def _object(members: int, *, tail: str = "") -> str:
    body = ", ".join(f'"k{n}": 0' for n in range(members))
    return '{"webUrl": "https://news.example.com/a", ' + body + tail + "}"


def _peak(text: str, cap: int) -> tuple[list[object], int]:
    with traced() as mem:
        items = list(parse_json("big.json", text, cap=cap))
    return items, mem.peak


def test_names_past_the_cap_are_not_kept() -> None:
    text = _object(MEMBERS)
    items, peak = _peak(text, cap=1_000)
    assert len(items) == 1 and isinstance(items[0], InvalidDocument)
    assert "over the 1,000-character limit" in items[0].error, items[0].error
    # the names alone are ~6 MB of strings and a dict; the object's own text is
    # not counted (made before the trace)
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB traced"


def test_a_telling_name_repeated_past_the_cap_is_still_found() -> None:
    text = _object(1_000, tail=', "webUrl": "https://news.example.com/b"')
    items, _ = _peak(text, cap=100)
    assert len(items) == 1 and isinstance(items[0], InvalidDocument)
    assert items[0].error.startswith("duplicate key 'webUrl'"), items[0].error


def test_an_objects_size_over_the_cap_is_said_as_a_lower_bound() -> None:
    """Its names and values are counted, not the punctuation between them: a
    100,000,046-byte object was said to be 73,037,077 characters."""
    items, _ = _peak(_object(1_000), cap=100)
    assert isinstance(items[0], InvalidDocument)
    assert items[0].error.startswith("the JSON object is at least "), items[0].error
