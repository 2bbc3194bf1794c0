"""`sign --in-place` rewrites JSON Lines a line at a time: each line must read as the
corpus reader reads it in the whole file (its line numbers, its byte-order marks,
its blank and invalid lines), or a record would be signed that the reader then
reads differently, or one it reads be passed over."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from monitor.corpus.json_stream import split_lines
from monitor.secured.inplace import _iter_records, _line_item, _lines_of

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


@given(texts)
def test_each_line_reads_as_in_the_whole_file(text: str) -> None:
    by_line = [item for n, part in _lines_of(text) if (item := _line_item("s", n, part))]
    assert by_line == list(_iter_records("s", text, ".jsonl"))
