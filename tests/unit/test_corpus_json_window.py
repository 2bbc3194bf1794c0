"""A `.json` file is read through a window, not whole: same records as the whole text.

Before, `.json` was read whole (its bytes, then its text: a 400 MB list peaked
past 1 GB) and walked with `raw_decode`. The windowed reader must give what the
whole-text reader gave (tests/support/json_whole_text.py, the reader as it was)
for every file: the same documents, the same invalid ones with the same lines
and messages, in the same order, whatever the window cuts through.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import json_whole_text
from support.examples import examples

from monitor.corpus import CR_ONLY, parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import BOM, DecodeError, decode
from monitor.corpus.json_stream import parse_json, read_json_stream
from monitor.corpus.json_window import MARGIN, Cursor, TooBig
from monitor.corpus.text_survey import CHANGED

Item = Document | InvalidDocument
SOURCE = "doc.json"


def whole(data: bytes) -> list[Item]:
    """The reading before the window: decode it all, then walk the whole text."""
    try:
        text = decode(data)
    except DecodeError as exc:
        return [InvalidDocument(SOURCE, exc.line, exc.message)]
    text = text.removeprefix("\ufeff")
    items = list(json_whole_text.parse_json(SOURCE, text))
    if "\r" in text.rstrip("\r") and "\n" not in text:
        items = [
            InvalidDocument(i.source, i.line, i.error + CR_ONLY)
            if isinstance(i, InvalidDocument)
            else i
            for i in items
        ]
    return items


def windowed(data: bytes, chunk: int, cap: int = 16 * 1024 * 1024) -> list[Item]:
    return list(read_json_stream(SOURCE, io.BytesIO(data), chunk=chunk, cap=cap))


# --- generated JSON texts --------------------------------------------------------------

_STRING_CHARS = st.sampled_from(
    [*list('ab[]{}",:\\ \t\n/'), "é", "日", "\u2028", "😀", "\ufeff", "\x00", "\x7f"]
)
_WS = st.sampled_from(["", "", " ", "\n", "  \n ", "\t", "\r\n", "\n\n", " " * 20 + "\n "])


_STRING_TEXT = st.text(_STRING_CHARS, max_size=12)


@st.composite
def _string(draw: st.DrawFn) -> str:
    text = draw(_STRING_TEXT)
    encoded = json.dumps(text, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):  # a surrogate pair or a lone one, written as escapes
        encoded = encoded[:-1] + draw(st.sampled_from(["\\ud83d\\ude00", "\\ud83d", "\\u00e9"]))
        encoded += '"'
    return encoded


_NUMBER = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e5", "-0.5E-3", "0", "-0", "1.5e+10", "NaN", "-Infinity", "1" * 5000]),
)
_SCALAR = st.one_of(_string(), _NUMBER, st.sampled_from(["true", "false", "null"]))


@st.composite
def _members(draw: st.DrawFn, values: st.SearchStrategy[str]) -> list[str]:
    keys = draw(
        st.lists(st.sampled_from(["a", "b", "title", "webUrl", "news", "x\\n", "é"]), max_size=4)
    )
    out = []
    for key in keys:
        value = draw(values)
        if key == "webUrl" and draw(st.booleans()):
            value = json.dumps(f"https://news.example.com/{draw(st.integers(0, 9))}")
        out.append(f"{draw(_WS)}{json.dumps(key)}{draw(_WS)}:{draw(_WS)}{value}")
    return out


def _join(draw: st.DrawFn, parts: list[str], open_: str, close: str) -> str:
    inner = ",".join(parts)
    return f"{open_}{draw(_WS)}{inner}{draw(_WS)}{close}"


@st.composite
def _value(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 3:
        return draw(_SCALAR)
    kind = draw(st.sampled_from(["scalar", "list", "object", "object"]))
    if kind == "scalar":
        return draw(_SCALAR)
    if kind == "list":
        items = draw(_lists(depth + 1))
        return _join(draw, [draw(_WS) + i for i in items], "[", "]")
    return _join(draw, draw(_members_at(depth + 1)), "{", "}")


@st.composite
def _article(draw: st.DrawFn) -> str:
    url = json.dumps(f"https://news.example.com/{draw(st.integers(0, 99))}")
    members = [f'"webUrl":{draw(_WS)}{url}', *draw(_members_at(1))]
    if draw(st.booleans()):
        members.reverse()
    return _join(draw, members, "{", "}")


# Each strategy is built once, here or by depth (cached): one made anew inside a draw
# was unwrapped, validated and its properties worked out again at every draw, about
# a third of an example's time; the values drawn are the same.
@cache
def _values(depth: int) -> st.SearchStrategy[str]:
    return _value(depth)


@cache
def _lists(depth: int) -> st.SearchStrategy[list[str]]:
    return st.lists(_values(depth), max_size=3)


@cache
def _members_at(depth: int) -> st.SearchStrategy[list[str]]:
    return _members(_values(depth))


_ARTICLE = _article()
# two distinct strategies (one_of would draw one object given twice as once): an
# article two times in three, as before
_ELEMENT = st.one_of(_article(), _article(), _values(0))
_ELEMENTS = st.lists(_ELEMENT, max_size=6)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    elements = draw(_ELEMENTS)
    listed = _join(draw, [draw(_WS) + e for e in elements], "[", "]")
    form = draw(st.sampled_from(["list", "list", "wrapper", "object", "scalar", "empty"]))
    if form == "wrapper":
        key = draw(st.sampled_from(["news", "articles"]))
        others = draw(_members_at(1))
        text = _join(draw, [*others, f'"{key}":{draw(_WS)}{listed}'], "{", "}")
    elif form == "object":
        text = draw(_ARTICLE)
    elif form == "scalar":
        text = draw(_values(0))
    elif form == "empty":
        text = ""
    else:
        text = listed
    return draw(_WS) + text + draw(_WS)


_BREAKS = st.sampled_from([*list(',:[]{}"\\x\n'), ",]", ",}", "\r", " \xa0", "é"])


_JSON_TEXTS = json_texts()


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    text = draw(_JSON_TEXTS)
    for _ in range(draw(st.integers(0, 2))):  # syntax errors at random points
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(_BREAKS) + text[at + cut :]
    if draw(st.booleans()):
        text += draw(st.sampled_from(["", " {}", "\n[1]", "x"]))
    line_end = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = text.replace("\n", line_end)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # not UTF-8 text somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\0", b"\xe9"])) + data[at:]
    return draw(st.sampled_from([b"", b"", BOM, BOM + BOM, "\ufeff".encode() * 3])) + data


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_files(), chunk=st.integers(1, 48))
@example(data=b'[{"webUrl": "https://a.example/1"}, 1.', chunk=3)
@example(data=b"[1e+", chunk=2)
@example(data=b"[1," + b" " * 40 + b"]", chunk=1)  # the comma is out of the window
@example(data=b'{"news": [[1,\r\n' + b"\t" * 40 + b"]]}", chunk=5)
def test_the_window_reads_what_the_whole_text_read(data: bytes, chunk: int) -> None:
    assert windowed(data, chunk) == whole(data)


@given(data=json_files())
@settings(max_examples=300, deadline=None)
def test_the_text_in_hand_reads_as_before(data: bytes) -> None:
    """`parse_json` on a text (sign --in-place) walks the same cursor, its window the text."""
    try:
        text = decode(data).removeprefix("\ufeff")
    except DecodeError:
        return
    assert list(parse_json(SOURCE, text)) == list(json_whole_text.parse_json(SOURCE, text))


# --- an element over the cap of one record -------------------------------------------


@settings(max_examples=examples(800), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_files(), chunk=st.integers(1, 48), cap=st.integers(1, 60))
def test_what_is_over_the_cap_does_not_depend_on_the_window(
    data: bytes, chunk: int, cap: int
) -> None:
    """With a cap small enough to refuse most values, the window and the whole text in
    hand still read alike: what is over the cap, where it ends, what is said."""
    try:
        text = decode(data).removeprefix("\ufeff")
    except DecodeError:
        return
    if "\r" in text.rstrip("\r") and "\n" not in text:  # those errors say so too
        return
    assert windowed(data, chunk, cap=cap) == list(parse_json(SOURCE, text, cap=cap))


def _article_json(n: int, pad: int = 0) -> str:
    return json.dumps({"webUrl": f"https://news.example.com/{n}", "body": '[{\\"' + "x" * pad})


CAP = 200


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_an_element_over_the_cap_is_reported_and_skipped(chunk: int) -> None:
    big = _article_json(2, pad=CAP * 3)
    text = f"[\n{_article_json(1)},\n{big},\n{_article_json(3)}\n]\n"
    items = windowed(text.encode(), chunk, cap=CAP)
    assert [type(i).__name__ for i in items] == ["Document", "InvalidDocument", "Document"]
    assert [i.line for i in items] == [2, 3, 4]
    bad = items[1]
    assert isinstance(bad, InvalidDocument)
    assert bad.error.startswith(f"list element 1 is {len(big):,} characters, over the 200-char")
    assert list(parse_json(SOURCE, text, cap=CAP)) == items


@pytest.mark.parametrize("chunk", [1, 5, 64, 1000])
@pytest.mark.parametrize(
    ("text", "line", "error"),
    [
        # a syntax error early in it: as the whole text says it
        (
            "[1,\n[1 2" + " 3" * CAP + "]]",
            2,
            "invalid JSON: Expecting ',' delimiter (line 2, column 4)",
        ),
        # its end cannot be told
        (
            "[1,\n" + "[" * 3 + "0," * CAP + "0\n}]]",
            3,
            "invalid JSON: '}' closes no bracket of the value that starts on line 2",
        ),
        ('[1,\n"' + "y" * CAP * 2, 2, "invalid JSON: the file ends inside the value"),
    ],
)
def test_an_element_over_the_cap_that_cannot_be_skipped_ends_the_file(
    chunk: int, text: str, line: int, error: str
) -> None:
    items = windowed(text.encode(), chunk, cap=CAP)
    assert [type(i).__name__ for i in items] == ["InvalidDocument", "InvalidDocument"]
    last = items[-1]
    assert isinstance(last, InvalidDocument)
    assert (last.line, last.error[: len(error)]) == (line, error)


@pytest.mark.parametrize("chunk", [3, 1000])
def test_a_top_level_article_over_the_cap_is_one_invalid_record(chunk: int) -> None:
    members: dict[str, Any] = {"webUrl": "https://news.example.com/1"}
    members.update({f"k{n}": "z" * 50 for n in range(10)})
    text = "\n" + json.dumps(members, indent=1)
    items = windowed(text.encode(), chunk, cap=CAP)
    assert len(items) == 1 and isinstance(items[0], InvalidDocument)
    assert items[0].line == 2
    assert items[0].error.startswith("the JSON object is ")
    # a wrapper's own members over the cap cost nothing to its list's records
    wrapper = json.dumps({"meta": "m" * CAP * 2, "news": [json.loads(_article_json(5))]})
    kinds = [type(i).__name__ for i in windowed(wrapper.encode(), chunk, cap=CAP)]
    assert kinds == ["Document"]


def test_check_reads_json_through_the_window() -> None:
    """The reader every command uses (parse_stream) is the windowed one."""
    text = f"[{_article_json(1)}, {_article_json(2, pad=CAP)}]"
    assert list(parse_bytes(SOURCE, text.encode(), ".json")) == windowed(text.encode(), 1 << 20)


class _Rewritten(io.BytesIO):
    """A file saved again between the reader's two passes over it."""

    def __init__(self, first: bytes, then: bytes) -> None:
        super().__init__(first)
        self.then = then

    def seek(self, pos: int, whence: int = 0) -> int:
        if self.then:
            self.__init__(self.then, b"")  # type: ignore[misc]
        return super().seek(pos, whence)


def test_a_file_saved_again_while_it_is_read_says_so() -> None:
    first = f"[{_article_json(1)}]".encode()
    then = f"[{_article_json(2)},\n{_article_json(3)}]".encode()
    items = list(read_json_stream(SOURCE, _Rewritten(first, then), chunk=8))
    assert items[-1] == InvalidDocument(SOURCE, None, CHANGED)  # never another version's end


@pytest.mark.parametrize(
    "number", ["1" * 5000 + ".5", "-" + "1" * 5000 + "e5", "1" * 5000], ids=["frac", "exp", "int"]
)
@pytest.mark.parametrize("chunk", [1, 64, 4500, 1 << 18])
def test_a_long_number_cut_by_the_window_reads_as_in_the_whole_text(
    number: str, chunk: int
) -> None:
    """Over int()'s digit limit before the window's edge, the digits may still be a
    float's (its '.5' or 'e5' not yet in the window): the whole text decides."""
    text = f'[{{"webUrl": "https://news.example.com/1", "n": {number}}}, {_article_json(2)}]'
    assert windowed(text.encode(), chunk) == whole(text.encode())


@pytest.mark.parametrize("element", ['{"a": [1, 2]},' * 300, '"' + "y" * 4000 + '"'])
def test_a_value_over_the_cap_is_never_decoded_from_more_than_the_cap(element: str) -> None:
    """The decoder builds what it reads: a window grown to twice the cap (as much text
    again each time) held twice the cap's objects for a value that is skipped (a 40 MB
    list of small objects: 501 MiB peak, 8.4 s)."""
    chunk = 10
    text = f'[{{"webUrl": "https://news.example.com/1", "x": [{element} 0]}}, 1]'
    widest = 0

    def pieces() -> Iterator[str]:
        nonlocal widest
        for at in range(0, len(text), chunk):
            widest = max(widest, len(cur.text))
            yield text[at : at + chunk]

    cur = Cursor("", pieces(), CAP)
    cur.expect("[", "")
    with pytest.raises(TooBig):
        cur.value()
    assert widest <= CAP + MARGIN + chunk


@pytest.mark.parametrize("chunk", [3, 1000])
def test_a_top_level_article_over_the_cap_in_its_names_is_one_invalid_record(chunk: int) -> None:
    """Its names count as its values do: only the values did, so a 100 MB article of
    long names and short values was a record, held whole, where the same object as an
    element of a list was over the cap."""
    members = {"webUrl": "https://news.example.com/1", **{c * 60: 0 for c in "klmn"}}
    text = json.dumps(members)
    items = windowed(text.encode(), chunk, cap=CAP)
    assert len(items) == 1 and isinstance(items[0], InvalidDocument)
    assert items[0].error.startswith("the JSON object is ")
    assert list(parse_json(SOURCE, text, cap=CAP)) == items
    # as an element of a list, the same object was over the cap already
    assert windowed(f"[{text}]".encode(), chunk, cap=CAP)[0].error.startswith("list element 0 is")


@pytest.mark.parametrize("chunk", [1, 16, 255, 10_000])
@pytest.mark.parametrize("tail", [".5]", "-1]", "e5.5]", ".5e5e5]", "]"])
@pytest.mark.parametrize("head", ["1", "-1", "1e5", "1.5", "0.5E-"])
def test_a_number_over_the_cap_ends_where_the_whole_text_ends_it(
    head: str, tail: str, chunk: int
) -> None:
    """A number too long to hold was read on as a run of number characters: a '.5'
    after its exponent, or a '-', was taken for its own, and the window skipped on
    where the text in hand stopped (or said another length)."""
    text = f"[{head}{'1' * 4400}{tail}, 1]"
    assert windowed(text.encode(), chunk, cap=CAP) == list(parse_json(SOURCE, text, cap=CAP))
