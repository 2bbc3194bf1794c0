"""A member of a top-level `.json` object nested past nesting.MAX_DEPTH is refused
the same way at any depth: a wrapper's own member (`{"meta": …, "news": […]}`)
made the file invalid only once the decoder's stack gave out (~970 levels; at
300 it passed), and an article object named the line of its opening brace
below that depth but the member's own line above it."""

from __future__ import annotations

import io

import pytest

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_stream import read_json_stream
from monitor.corpus.nesting import MAX_DEPTH

WEB = "https://a.example.com/"
DEEP = [MAX_DEPTH + 1, 600, 1_500, 5_000]  # the top-level object counted


def _nest(levels: int) -> str:
    """A value of `levels` lists and mappings, with brackets in a string."""
    half = levels // 2
    return '{"k": ' * half + "[" * (levels - half) + '"[{"' + "]" * (levels - half) + "}" * half


def _both(text: str) -> list[Document | InvalidDocument]:
    whole = list(parse_text("f.json", text, ".json"))
    streamed = list(read_json_stream("f.json", io.BytesIO(text.encode()), chunk=64))
    assert [(type(i), i.line) for i in whole] == [(type(i), i.line) for i in streamed]
    return whole


def _wrapper(levels: int) -> str:
    return (
        '{"news": [\n'
        f'{{"webUrl": "{WEB}1"}},\n'
        f'{{"webUrl": "{WEB}2"}}\n'
        "],\n"
        f'"meta":\n{_nest(levels - 1)}}}\n'
    )


@pytest.mark.parametrize("levels", DEEP)
def test_a_wrappers_deep_member_is_refused_at_any_depth(levels: int) -> None:
    items = _both(_wrapper(levels))
    assert [i.raw["webUrl"] for i in items if isinstance(i, Document)] == [f"{WEB}1", f"{WEB}2"]
    (bad,) = [i for i in items if isinstance(i, InvalidDocument)]
    assert bad.line == 5
    assert bad.error.startswith(f"field 'meta' nests lists and mappings deeper than {MAX_DEPTH}")


def test_a_wrappers_member_within_the_bound_is_no_error() -> None:
    items = _both(_wrapper(MAX_DEPTH))
    assert all(isinstance(i, Document) for i in items) and len(items) == 2


@pytest.mark.parametrize("levels", DEEP)
def test_an_article_objects_deep_field_is_named_on_its_own_line(levels: int) -> None:
    text = f'{{"webUrl": "{WEB}o",\n"title": "t",\n"x": {_nest(levels - 1)}}}\n'
    (bad,) = _both(text)
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 3
    assert bad.error.startswith(f"field 'x' nests lists and mappings deeper than {MAX_DEPTH}")
