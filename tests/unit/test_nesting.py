"""One nesting bound for every reader, whatever the caller's stack (nesting.MAX_DEPTH).

The bound was Python's recursion limit less the stack: a JSONL line nested ~975
deep was invalid to `check` and signed by `sign --envelope legacy`, and a `.json`
element past it stopped the file, losing the articles after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.legacy_claims import KEY, cbc

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_stream import parse_json_line
from monitor.corpus.nesting import MAX_DEPTH, deep_field, deeper_than, text_is_shallow
from monitor.secured.keys import KeyRing
from monitor.secured.verify import verify_document
from monitor.vocabulary import SignatureStatus as S

T = TypeVar("T")
WEB = "https://a.example.com/"
URL = "https://news.example/a"


def depth(value: object) -> int:
    """The reference: lists and mappings on the longest path, by plain recursion."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def nested(levels: int) -> list[Any]:
    """`levels` lists inside each other (levels >= 1), built without recursion."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def line_nested(levels: int) -> str:
    """A JSONL article whose own mapping and field `x` nest `levels` deep in all."""
    return f'{{"webUrl": "{WEB}", "x": {"[" * (levels - 1)}{"]" * (levels - 1)}}}'


def on_a_deep_stack(frames: int, call: Callable[[], T]) -> T:
    """`call()` from under `frames` more frames of this one."""
    if frames <= 0:
        return call()
    return on_a_deep_stack(frames - 1, call)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=30,
)


@given(json_values, st.integers(min_value=0, max_value=8))
def test_the_walk_agrees_with_recursion(value: object, limit: int) -> None:
    assert deeper_than(value, limit) is (depth(value) > limit)


@given(json_values)
def test_a_text_with_few_brackets_is_shallow(value: object) -> None:
    text = json.dumps(value)
    if text_is_shallow(text):
        assert depth(value) <= MAX_DEPTH
    assert text_is_shallow(json.dumps(nested(MAX_DEPTH)))
    assert not text_is_shallow(json.dumps(nested(MAX_DEPTH + 1)))


def test_the_deep_field_is_named_not_the_first() -> None:
    record = {"webUrl": WEB, "a": [[1]], "b": nested(MAX_DEPTH), "c": nested(MAX_DEPTH)}
    assert deep_field(record) == "b"
    assert deep_field({"webUrl": WEB, "b": nested(MAX_DEPTH - 1)}) is None


@pytest.mark.parametrize("levels", [MAX_DEPTH, MAX_DEPTH + 1, 975, 3_000])
@pytest.mark.parametrize("frames", [0, 400])
def test_a_jsonl_line_reads_the_same_on_any_stack(levels: int, frames: int) -> None:
    read = on_a_deep_stack(frames, lambda: parse_json_line("a.jsonl", 1, line_nested(levels)))
    if levels <= MAX_DEPTH:
        assert isinstance(read, Document)
    else:
        assert isinstance(read, InvalidDocument)
        assert f"deeper than {MAX_DEPTH} levels" in read.error


@pytest.mark.parametrize("frames", [0, 400])
def test_a_json_element_past_the_decoder_is_skipped_and_the_list_goes_on(frames: int) -> None:
    deep = line_nested(5_000)
    text = f'[{{"webUrl": "{WEB}1"}}, {deep},\n {{"webUrl": "{WEB}2"}}]'
    items = on_a_deep_stack(frames, lambda: list(parse_text("a.json", text, ".json")))
    assert [type(i) for i in items] == [Document, InvalidDocument, Document]
    assert isinstance(items[1], InvalidDocument)
    assert items[1].line == 1
    assert f"list element 1: the value nests lists and mappings deeper than {MAX_DEPTH}" in (
        items[1].error
    )


def test_a_json_element_past_the_decoder_that_never_closes_stops_the_file() -> None:
    items = list(parse_text("a.json", f'[{{"webUrl": "{WEB}"}}, {"[" * 5_000}', ".json"))
    assert isinstance(items[0], Document)
    assert isinstance(items[-1], InvalidDocument)
    assert "the file ends inside the value that starts on line 1" in items[-1].error


def test_aliases_nest_as_deep_as_they_expand() -> None:
    lines = ["---", f"webUrl: {WEB}", "a0: &a0 []"]
    lines += [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH)]
    (item,) = parse_text("a.md", "\n".join([*lines, "---", ""]), ".md")
    assert isinstance(item, InvalidDocument)
    assert item.line == 2 + MAX_DEPTH  # the field that goes past, a{MAX_DEPTH - 1}
    assert f"field 'a{MAX_DEPTH - 1}' nests lists and mappings deeper than" in item.error


@pytest.mark.parametrize("frames", [0, 400])
def test_signed_claims_past_the_bound_are_no_claims_on_any_stack(frames: int) -> None:
    claims = {"webUrl": URL, "x": nested(MAX_DEPTH)}
    raw: dict[str, Any] = {"webUrl": URL, "secured": cbc(json.dumps(claims).encode())}
    found = on_a_deep_stack(frames, lambda: verify_document(raw, KeyRing([KEY])))
    assert found.status is S.UNDECRYPTABLE
    claims["x"] = raw["x"] = nested(MAX_DEPTH - 1)
    raw["secured"] = cbc(json.dumps(claims).encode())
    assert verify_document(raw, KeyRing([KEY])).status is S.VALID
