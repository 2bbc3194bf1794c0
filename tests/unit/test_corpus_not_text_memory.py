"""The text check holds no copy of a path per value waiting to be walked: each
child pushed carried its whole path as a tuple of its own, so a record nested 254
deep with 4,000 siblings a level (a 3 MB JSON Lines line that asks for the walk
with an escaped backslash before `u0000`) peaked at 1.3 GB to `check --offline`.
The path is built for the value found, and names it as before."""

from __future__ import annotations

from typing import Any

from support.traced import traced

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.records import not_text

DEPTH = 254
SIBLINGS = 200


def _wide_and_deep(leaf: Any) -> dict[str, Any]:
    """The deep branch first, so every level's siblings wait while it is walked."""
    value: Any = leaf
    for _ in range(DEPTH):
        value = [value, *([] for _ in range(SIBLINGS))]
    return {"webUrl": "https://news.example.com/a", "x": value}


def test_the_walk_holds_no_path_per_waiting_value() -> None:
    record = _wide_and_deep("text")
    with traced() as mem:
        found = not_text(record)
    assert found is None
    # a path tuple per waiting value: ~55 MB; one pair per value: ~4 MB
    assert mem.peak < 12_000_000, mem


def test_the_deepest_value_found_is_named_by_its_path() -> None:
    found = not_text(_wide_and_deep("a\x00b"))
    assert found is not None
    loc, message = found
    assert loc == ("x", *[0] * DEPTH)
    assert message.startswith("field x.0.0.0.")


def test_a_bad_key_and_a_bad_value_read_as_before() -> None:
    (key,) = parse_text(
        "a.jsonl", '{"webUrl": "https://n.example/a", "m": {"a\\u0000": 1}}', ".jsonl"
    )
    assert isinstance(key, InvalidDocument)
    assert key.error.startswith("a key in m holds a NUL character"), key.error
    text = '{"webUrl": "https://n.example/a", "m": [{"t": "\\\\u0000"}, {"u": "\\ud800"}]}'
    (value,) = parse_text("a.jsonl", text, ".jsonl")
    assert isinstance(value, InvalidDocument)
    assert value.error.startswith("field m.1.u holds a lone UTF-16 surrogate"), value.error
    (fine,) = parse_text("a.jsonl", '{"webUrl": "https://n.example/a", "t": "\\\\u0000"}', ".jsonl")
    assert isinstance(fine, Document)
