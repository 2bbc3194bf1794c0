"""The JSON text scan that lets a record skip the `not_text` walk (issue 16)
answers as the walk does: every NUL or lone surrogate a parsed key or value
can hold is seen in the text, escaped or not."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitor.corpus import parse_text
from monitor.corpus.article import InvalidDocument
from monitor.corpus.records import json_text_is_text, not_text

# text with the characters that matter made likely: NUL, both surrogate halves,
# a backslash, `u`, and the characters of an escape
_CHARS = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\\", "u", "0", "d", "D", "8", "a", "é", "😀"]
)
_TEXT = st.lists(st.one_of(_CHARS, st.characters()), max_size=12).map("".join)
_VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _escaped_spellings(value: Any) -> list[str]:
    """The same value as JSON text in several spellings: `\\u` escapes in
    lower and upper case, and raw characters where JSON allows them."""
    ascii_text = json.dumps(value, ensure_ascii=True)
    return [
        ascii_text,
        ascii_text.upper().replace("\\U", "\\u").replace("NULL", "null"),
        json.dumps(value, ensure_ascii=False),
    ]


@given(st.dictionaries(_TEXT, _VALUES, max_size=5))
def test_the_scan_of_the_text_never_passes_what_the_walk_refuses(record: dict[str, Any]) -> None:
    for text in _escaped_spellings(record):
        try:
            parsed = json.loads(text)
        except ValueError:
            continue  # upper-casing made it no JSON
        if json_text_is_text(text):
            assert not_text(parsed) is None, text


def test_escaped_nul_and_surrogates_are_seen() -> None:
    for text in (r'{"a": "\u0000"}', r'{"a": "\uD800"}', r'{"a": "x\udfffy"}', '{"a": "\x00"}'):
        assert not json_text_is_text(text)
    assert json_text_is_text(r'{"a": "caf\u00e9", "b": "plain"}')


def test_a_jsonl_line_with_an_escaped_nul_is_still_invalid() -> None:
    lines = [
        json.dumps({"webUrl": "https://example.com/a", "title": "a\u0000b"}),
        json.dumps({"webUrl": "https://example.com/b", "title": "ok"}),
    ]
    items = list(parse_text("x.jsonl", "\n".join(lines), ".jsonl"))
    assert isinstance(items[0], InvalidDocument)
    assert "NUL" in items[0].error
    assert not isinstance(items[1], InvalidDocument)


def test_an_element_of_a_json_list_with_an_escaped_surrogate_is_still_invalid() -> None:
    records = [
        {"webUrl": "https://example.com/a", "title": "ok"},
        {"webUrl": "https://example.com/b", "title": "\ud800"},
    ]
    items = list(parse_text("x.json", json.dumps({"news": records}), ".json"))
    assert not isinstance(items[0], InvalidDocument)
    assert isinstance(items[1], InvalidDocument)
    assert "surrogate" in items[1].error
