"""A key given twice in one object or mapping makes the record invalid, in every
reader: front matter, plain YAML, JSON (object, list, wrapper), JSON Lines.

With the last copy winning, `{"webUrl": "https://evil…", "webUrl": "https://good…"}`
would be checked and signature-verified as the good URL while other readers
take the evil one (issue 10, item 9).
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_stream import duplicate_key_at

Pair = tuple[str, Any]

_keys = st.text(string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=10)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 1000), st.text(string.printable, max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=6,
)
WEB = ("webUrl", "https://news.example/a")


@st.composite
def records(draw: st.DrawFn) -> list[Pair]:
    """Distinct keys, webUrl among them, one pair per line when written."""
    keys = draw(st.lists(_keys.filter(lambda k: k != "webUrl"), unique=True, max_size=6))
    pairs: list[Pair] = [(k, draw(_values)) for k in keys]
    pairs.insert(draw(st.integers(0, len(pairs))), WEB)
    return pairs


@st.composite
def with_duplicate(draw: st.DrawFn) -> tuple[list[Pair], int, str]:
    """A record with one key repeated later: (pairs, index of the repeat, the key)."""
    pairs = draw(records())
    first = draw(st.integers(0, len(pairs) - 1))
    at = draw(st.integers(first + 1, len(pairs)))
    key = pairs[first][0]
    pairs.insert(at, (key, draw(_values)))
    return pairs, at, key


def as_json(pairs: list[Pair]) -> str:
    return "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "\n}"


def as_yaml(pairs: list[Pair]) -> str:
    return "".join(f"{json.dumps(k)}: {json.dumps(v)}\n" for k, v in pairs)


def one_invalid(text: str, suffix: str) -> InvalidDocument:
    items = list(parse_text(f"doc{suffix}", text, suffix))
    assert len(items) == 1, items
    assert isinstance(items[0], InvalidDocument), items
    return items[0]


@given(with_duplicate())
def test_json_object_names_the_key_and_its_line(case: tuple[list[Pair], int, str]) -> None:
    pairs, at, key = case
    bad = one_invalid(as_json(pairs), ".json")
    assert bad.line == at + 2  # line 1 is "{"
    assert f"duplicate key {key!r} on line {at + 2}" in bad.error


@given(with_duplicate(), st.integers(0, 3))
def test_json_list_loses_only_the_element(case: tuple[list[Pair], int, str], index: int) -> None:
    pairs, at, key = case
    others = [json.dumps({"webUrl": f"https://n{i}.example/"}) for i in range(3)]
    elements = [*others[:index], as_json(pairs), *others[index:]]
    body = ",\n".join(elements)
    for text in ("[\n" + body + "\n]", '{"news": [\n' + body + "\n]}"):
        items = list(parse_text("doc.json", text, ".json"))
        kinds = [type(i) for i in items]
        assert kinds == [Document] * index + [InvalidDocument] + [Document] * (3 - index)
        bad = items[index]
        assert isinstance(bad, InvalidDocument)
        assert f"element {index}: duplicate key {key!r}" in bad.error
        assert bad.line == 2 + index + at + 1  # the opening line, earlier one-line elements, "{"


@given(with_duplicate())
def test_json_lines_names_the_key_on_its_line(case: tuple[list[Pair], int, str]) -> None:
    pairs, _at, key = case
    line = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"
    text = '{"webUrl": "https://first.example/"}\n' + line + "\n"
    items = list(parse_text("doc.jsonl", text, ".jsonl"))
    assert isinstance(items[0], Document)
    bad = items[1]
    assert isinstance(bad, InvalidDocument) and bad.line == 2
    assert f"duplicate key {key!r} at column" in bad.error


@given(with_duplicate())
def test_yaml_names_the_key_and_both_lines(case: tuple[list[Pair], int, str]) -> None:
    pairs, at, key = case
    first = next(i for i, (k, _v) in enumerate(pairs) if k == key)
    bad = one_invalid("---\n" + as_yaml(pairs) + "---\nbody\n", ".txt")
    assert bad.line == at + 2
    assert f"duplicate key {key!r} on line {at + 2} (first on line {first + 2})" in bad.error
    plain = one_invalid(as_yaml(pairs), ".yaml")
    assert plain.line == at + 1 and f"duplicate key {key!r} on line {at + 1}" in plain.error


@given(records())
def test_distinct_keys_are_never_called_duplicates(pairs: list[Pair]) -> None:
    texts = [
        (as_json(pairs), ".json"),
        ("[" + as_json(pairs) + "]", ".json"),
        (json.dumps(dict(pairs)) + "\n", ".jsonl"),
        ("---\n" + as_yaml(pairs) + "---\n", ".md"),
        (as_yaml(pairs), ".yml"),
    ]
    for text, suffix in texts:
        for item in parse_text(f"doc{suffix}", text, suffix):
            if isinstance(item, InvalidDocument):
                assert "duplicate key" not in item.error, (text, item)


@given(with_duplicate())
def test_a_nested_duplicate_is_found_too(case: tuple[list[Pair], int, str]) -> None:
    pairs, _at, key = case
    outer = [WEB, ("provider", None)]
    text = as_json(outer).replace("null", as_json(pairs))
    bad = one_invalid(text, ".json")
    assert f"duplicate key {key!r}" in bad.error
    nested_yaml = "webUrl: https://news.example/a\nprovider: " + json.dumps(dict(pairs)) + "\n"
    assert "duplicate key" not in str(list(parse_text("d.yaml", nested_yaml, ".yaml")))
    flow = (
        "webUrl: https://news.example/a\nprovider: {"
        + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
        + "}\n"
    )
    assert f"duplicate key {key!r}" in one_invalid(flow, ".yaml").error


def test_the_evil_and_good_example() -> None:
    text = '{"webUrl": "https://evil.example/", "webUrl": "https://good.example/"}'
    for suffix in (".json", ".jsonl"):
        assert "duplicate key 'webUrl'" in one_invalid(text, suffix).error
    assert "duplicate key 'webUrl'" in one_invalid(f"---\n{text}\n---\n", ".txt").error


def test_escaped_spellings_of_one_key_are_the_same_key() -> None:
    text = '{"webUrl": "https://a.example/", "web\\u0055rl": "https://b.example/"}'
    assert "duplicate key 'webUrl'" in one_invalid(text, ".json").error
    assert duplicate_key_at(text, 0, len(text)) == ("webUrl", text.index('"web\\u0055'))


def test_keys_in_sibling_objects_are_not_duplicates() -> None:
    text = '{"webUrl": "https://a.example/", "images": [{"url": "x"}, {"url": "y"}]}'
    assert duplicate_key_at(text, 0, len(text)) is None
    item = next(iter(parse_text("d.json", text, ".json")))
    assert "duplicate" not in str(item)
