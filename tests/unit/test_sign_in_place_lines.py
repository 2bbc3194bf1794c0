"""`sign --in-place` rewrites JSON Lines a line at a time: each line must read as the
corpus reader reads it in the whole file (its line numbers, its byte-order marks,
its blank and invalid lines), or a record would be signed that the reader then
reads differently, or one it reads be passed over."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.jsonl_whole_text import _lines_of

from monitor.corpus import files, parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_stream import split_lines
from monitor.secured.inplace import Signable, rewrite_file
from monitor.secured.inplace.lines_stream import _line_item

BOM = "\ufeff"
PIECES = [
    json.dumps({"webUrl": "https://a.example/1", "title": "One"}),
    json.dumps({"webUrl": "https://a.example/2", "title": "Two", "n": 1.5}),
    '{"webUrl": "https://a.example/3", "webUrl": "https://a.example/4"}',  # duplicate key
    "[1, 2]",
    "not json",
    "",
    "   ",
    "{",
    '{"webUrl": "https://a.example/5"}  ',
]
line = st.builds(
    lambda marks, body, end: BOM * marks + body + end,
    st.integers(0, 3),
    st.sampled_from(PIECES),
    st.sampled_from(["\n", "\r\n", "\r\n", "\n"]),
)
texts = st.builds(
    lambda lines, last: "".join(lines) + last,
    st.lists(line, min_size=1, max_size=8),
    st.sampled_from(["", PIECES[0], BOM + PIECES[1], "\r"]),
)


@given(texts)
def test_lines_split_as_the_reader_splits_them(text: str) -> None:
    lines = list(_lines_of(text))
    assert "".join(part for _, part in lines) == text
    assert [n for n, _ in lines] == list(range(1, len(lines) + 1))
    assert [part.removesuffix("\n") for _, part in lines] == list(split_lines(text))


# The corpus reader of a JSON Lines file is `parse_stream`, a line at a time: it drops
# the file's byte-order mark (its bytes), then one more from each line; a line over
# MAX_LINE_BYTES is an invalid document; a line with a CR inside says its file may end
# its lines in CR alone. `parse_text` of the whole text dropped a third mark.
CAP = 200  # bytes: a line cap small enough to cross in a test


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", CAP)


def _read(text: str, source: str = "s") -> list[Document | InvalidDocument]:
    return list(parse_bytes(source, text.encode(), ".jsonl"))


def _invalid(text: str, source: str = "s") -> list[InvalidDocument]:
    return [i for i in _read(text, source) if isinstance(i, InvalidDocument)]


def _article(n: int, size: int) -> str:
    """An article of `size` bytes."""
    text = json.dumps({"webUrl": f"https://a.example/{n}", "title": ""})
    return text.replace('""', json.dumps("t" * (size - len(text))))


hostile = st.builds(
    lambda lines, last: "".join(lines) + last,
    st.lists(
        st.builds(
            lambda marks, body, end: BOM * marks + body + end,
            st.integers(0, 3),
            st.sampled_from([*PIECES, "x\ry", _article(6, CAP - 1), _article(7, CAP + 1)]),
            st.sampled_from(["\n", "\r\n", "\r\r\n"]),
        ),
        min_size=0,
        max_size=6,
    ),
    st.sampled_from(["", PIECES[0], BOM + BOM + PIECES[1], "\r", _article(8, CAP + 1)]),
)


@given(hostile)
def test_each_line_reads_as_the_corpus_reader_reads_the_file(text: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "MAX_LINE_BYTES", CAP)
        by_line = [item for n, part in _lines_of(text) if (item := _line_item("s", n, part))]
        assert by_line == _read(text)


def _sign(value: str) -> Callable[[Signable], str | None]:
    return lambda _record: value


@pytest.mark.parametrize("text", [BOM + BOM + PIECES[0], BOM + BOM + PIECES[0] + "\r"])
def test_a_file_of_one_line_after_two_marks_is_signed(tmp_path: Path, text: str) -> None:
    """The reader reads this article; a file of one line went the whole-file way,
    which did not meet it past its marks: left unsigned, with no word."""
    path = tmp_path / "one.jsonl"
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k.new"))
    assert (result.signed, result.errors, result.invalid) == (1, [], [])
    (record,) = _read(path.read_text(encoding="utf-8"))
    assert isinstance(record, Document) and record.raw["secured"] == "v2.k.new"


def test_three_marks_on_the_first_line_are_an_invalid_document(tmp_path: Path) -> None:
    """The reader drops two; the article behind a third was signed, and the file said
    signed while `check` and `verify` called that line invalid."""
    path = tmp_path / "marks.jsonl"
    text = BOM * 3 + PIECES[0] + "\n" + PIECES[1] + "\n"
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k.new"))
    assert result.invalid == _invalid(text, str(path))
    assert [i.line for i in result.invalid] == [1]
    assert result.signed == 1
    assert path.read_text(encoding="utf-8").startswith(BOM * 3 + PIECES[0] + "\n")


def test_a_line_over_the_cap_is_an_invalid_document_not_signed(
    tmp_path: Path, small_cap: None
) -> None:
    path = tmp_path / "long.jsonl"
    text = _article(1, CAP + 1) + "\n" + PIECES[0] + "\n"
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k.new"))
    assert result.invalid == _invalid(text, str(path))
    assert [i.line for i in result.invalid] == [1] and "limit" in result.invalid[0].error
    assert result.signed == 1
    assert path.read_text(encoding="utf-8").startswith(_article(1, CAP + 1) + "\n")


def test_a_line_signing_would_take_over_the_cap_leaves_the_file_alone(
    tmp_path: Path, small_cap: None
) -> None:
    """Signed, the article's line would be over the reader's cap: an invalid document
    where a valid one was. Every invalid line is still named, those after it too."""
    path = tmp_path / "near.jsonl"
    text = PIECES[0] + "\n" + _article(1, CAP - 20) + "\n[1]\nnot json\n"
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k." + "s" * 40))
    assert path.read_text(encoding="utf-8") == text
    assert result.signed == 0
    assert len(result.errors) == 1 and "line 2" in result.errors[0], result.errors
    assert [i.line for i in result.invalid] == [3, 4]
