"""`sign --in-place` text surgery: only the `secured` value changes."""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.secured.edit import (
    EditError,
    rewrite_front_matter,
    rewrite_json,
    rewrite_jsonl,
    rewrite_yaml_documents,
)

V = "v2.k.AAAAAAAAAAAAAAAA.BBBB"


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def front(text: str) -> Any:
    return yaml.safe_load(text[4 : text.index("\n---\n")])


def test_front_matter_secured_line_is_replaced() -> None:
    text = '---\ntitle: "T"\nsecured: "old;value"\nwebUrl: u\n---\nbody: secured: x\n'
    out = rewrite_front_matter(text, V)
    assert changed_lines(text, out) == ['-secured: "old;value"', f'+secured: "{V}"']
    assert front(out) == {"title": "T", "secured": V, "webUrl": "u"}


def test_front_matter_secured_is_inserted_before_the_closing_fence() -> None:
    text = "---\ntitle: T\nrelated:\n  - secured: nested\n---\nbody\n"
    out = rewrite_front_matter(text, V)
    assert changed_lines(text, out) == [f'+secured: "{V}"']
    assert front(out)["secured"] == V and front(out)["related"] == [{"secured": "nested"}]


def test_front_matter_multi_line_value_and_crlf_and_bom() -> None:
    text = "\ufeff---\r\ntitle: T\r\nsecured: >-\r\n  abc\r\n  def\r\n\r\nwebUrl: u\r\n---\r\n"
    out = rewrite_front_matter(text, V)
    assert out.startswith("\ufeff---\r\n")
    assert f'secured: "{V}"\r\n\r\nwebUrl: u\r\n' in out
    assert yaml.safe_load(out.removeprefix("\ufeff").split("---")[1])["secured"] == V


def test_plain_yaml_file_and_missing_front_matter() -> None:
    """A fence-less `.yaml` file is a stream of one document (what `sign --in-place`
    calls for it); front matter without fences is refused."""
    assert rewrite_yaml_documents("title: T\nwebUrl: u", {1: V}) == (
        f'title: T\nwebUrl: u\nsecured: "{V}"\n'
    )
    with pytest.raises(EditError):
        rewrite_front_matter("title: T\n", V)


def test_json_value_replaced_in_place() -> None:
    text = '{\n  "webUrl": "u",\n  "secured": "old",\n  "n": [1, {"secured": "nested"}]\n}\n'
    out = rewrite_json(text, lambda obj: V)
    assert changed_lines(text, out) == ['-  "secured": "old",', f'+  "secured": "{V}",']


def test_json_member_appended_in_the_objects_style() -> None:
    pretty = '[\n  {\n    "webUrl": "u",\n    "images": []\n  },\n  {"webUrl": "w"},\n  {}\n]\n'
    out = rewrite_json(pretty, lambda obj: V)
    assert json.loads(out) == [
        {"webUrl": "u", "images": [], "secured": V},
        {"webUrl": "w", "secured": V},
        {"secured": V},
    ]
    assert f'    "images": [],\n    "secured": "{V}"\n  }}' in out
    assert f'{{"webUrl": "w", "secured": "{V}"}}' in out


def test_json_wrapper_lists_and_selective_signing() -> None:
    text = json.dumps(
        {"status": "ok", "news": [{"webUrl": "a"}, {"webUrl": "b"}], "articles": [{"webUrl": "c"}]},
        indent=1,
    )
    out = rewrite_json(text, lambda obj: V if obj["webUrl"] != "b" else None)
    data = json.loads(out)
    assert [a.get("secured") for a in data["news"] + data["articles"]] == [V, None, V]
    assert "secured" not in data


def test_jsonl_lines_are_edited_alone() -> None:
    text = '{"webUrl": "a", "secured": "x"}\n\nnot json\n{"webUrl": "b"}\r\n[1]\n'
    out = rewrite_jsonl(text, lambda obj: V)
    assert out == (
        f'{{"webUrl": "a", "secured": "{V}"}}\n\nnot json\n'
        f'{{"webUrl": "b", "secured": "{V}"}}\r\n[1]\n'
    )


def test_invalid_json_is_an_edit_error() -> None:
    with pytest.raises(EditError):
        rewrite_json('{"webUrl": "a",}', lambda obj: V)


plain = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
members = st.dictionaries(
    st.from_regex(r"[a-z][a-zA-Z]{0,8}", fullmatch=True),
    st.none() | st.integers() | plain | st.lists(st.integers(), max_size=3),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(members, st.booleans(), st.sampled_from([None, 1, 2]), plain)
def test_json_rewrite_changes_only_secured(
    record: dict[str, Any], has_secured: bool, indent: int | None, value: str
) -> None:
    if has_secured:
        record["secured"] = "old"
    text = json.dumps(record, indent=indent, ensure_ascii=False)
    out = rewrite_json(text, lambda obj: value)
    assert json.loads(out) == {**record, "secured": value}
    if indent is not None and has_secured:
        assert len(changed_lines(text, out)) == 2


@settings(max_examples=60, deadline=None)
@given(members, st.booleans())
def test_front_matter_rewrite_changes_only_secured(
    record: dict[str, Any], has_secured: bool
) -> None:
    record.pop("secured", None)
    record["webUrl"] = "https://example.test/a"
    if has_secured:
        record["secured"] = "old;value"
    text = "---\n" + yaml.safe_dump(record, allow_unicode=True, sort_keys=False) + "---\nbody\n"
    out = rewrite_front_matter(text, V)
    assert front(out) == {**record, "secured": V}
    assert len(changed_lines(text, out)) in ((1, 2) if not has_secured else (2, 3))
