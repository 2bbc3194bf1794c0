"""A `.yaml` file read a window at a time (monitor.corpus.yaml_stream) gives exactly
the records of its whole text (`parse_text`), whatever the windows, the cap of one
document, the line ends, BOMs, directives and bytes that are not text."""

from __future__ import annotations

import io
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.examples import examples
from support.traced import traced

from monitor.corpus import files, parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.yaml_stream import read_yaml_stream

LINES = [
    "---",
    "--- # c",
    "--- {webUrl: https://a.test/f}",
    "...",
    "... # end",
    "%YAML 1.1",
    "%TAG ! tag:x,2000:",
    "%foo",
    "# c",
    "",
    "  ",
    "\t",
    "webUrl: https://a.test/1",
    "webUrl: https://a.test/2",
    "title: é ü",
    "excerpt: " + "x" * 30,
    "a: &x {k: v}",
    "b: *x",
    "  - item",
    "list:",
    "key: 'open",
    "secured: v",
    "- seq",
    "\ufeffwebUrl: https://a.test/3",
    "t: a\x85b",
    "t: a\u2028b",
    "  \r  ",
    "\t# c",
    "... foo",
    "--- |",
    "  x",
]
ENDS = ["\n", "\n", "\n", "\r\n", "\r"]
# Lines with no content, in long runs: after a `---`, a directive, a `...` or a record,
# such a run is folded once far over the cap (the kinds the empty-document rules tell
# apart: spaces, tabs, a CR inside, line breaks YAML knows inside a comment).
PLAIN = ["# c", "", "  ", "\t", "\t# c", "  \r  ", "# c\x85", "#\u2028x", "   # " + "c" * 20]


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    one = st.tuples(st.sampled_from(LINES), st.sampled_from(ENDS), st.just(1))
    run = st.tuples(st.sampled_from(PLAIN), st.sampled_from(ENDS), st.integers(2, 150))
    lines = draw(st.lists(st.one_of(one, one, run), max_size=60))
    data = "".join((text + end) * times for text, end, times in lines)
    if draw(st.booleans()):
        data = data.rstrip("\r\n")
    raw = data.encode("utf-8")
    prefix = draw(st.sampled_from([b"", b"", files.BOM, files.BOM * 2, b"\xff\xfe"]))
    odd = draw(st.sampled_from([b"", b"", b"", b"\x00", b"\xff", b"\xc3", b"\xe2\x82"]))
    at = draw(st.integers(0, len(raw)))
    return prefix + raw[:at] + odd + raw[at:]


def whole(data: bytes) -> list[Document | InvalidDocument]:
    """The reading of the whole text, as parse_stream read a `.yaml` file before."""
    try:
        text = files.decode(data)
    except files.DecodeError as exc:
        return [InvalidDocument("s.yaml", exc.line, exc.message)]
    return list(parse_text("s.yaml", text, ".yaml"))


def read_capped(data: bytes, **sizes: int) -> tuple[list[Document | InvalidDocument], int]:
    """`data` read under a 1,000-byte cap (`sizes`: chunk, window) and held to the
    whole text's reading: its records, and the peak of memory traced while reading."""
    with mock.patch.object(files, "MAX_YAML_BYTES", 1000):
        with traced() as mem:
            items = list(read_yaml_stream("s.yaml", io.BytesIO(data), **sizes))
        assert items == whole(data)
    return items, mem.peak


@settings(max_examples=examples(600), deadline=None)
@given(
    data=streams(),
    chunk=st.integers(1, 64),
    window=st.integers(1, 48),
    cap=st.sampled_from([8, 30, 60, 200, files.MAX_YAML_BYTES]),
)
@example(data=b"a: 1\n" + b"# c\n" * 20 + b"%YAML 1.1\n---\nb: 2\n", chunk=4, window=4, cap=8)
@example(data=b"x: " + b"y" * 50 + b"\n\n...\nb: 2\n", chunk=3, window=5, cap=8)
@example(data=b"...\r---\r---\n%YAML 1.1\n", chunk=1, window=1, cap=8)
@example(data=b"%YAML 1.2\n  \r  \n--- # c\r  x\nwebUrl: u\n...\na: 1\n", chunk=2, window=20, cap=8)
def test_windows_read_as_the_whole_text(data: bytes, chunk: int, window: int, cap: int) -> None:
    with mock.patch.object(files, "MAX_YAML_BYTES", cap):
        expected = whole(data)
        got = list(read_yaml_stream("s.yaml", io.BytesIO(data), chunk=chunk, window=window))
    assert got == expected


def test_a_document_over_the_cap_is_not_held() -> None:
    """1 MB of one document, read 4 KB at a time under a 1,000-byte cap: reported
    at its line and skipped, the next document read, never the whole of it in memory."""
    big = b"webUrl: https://a.test/big\nexcerpt: |\n" + b"  " + b"x" * 98 + b"\n"
    data = b"webUrl: https://a.test/1\n---\n" + big * 10_000 + b"---\nwebUrl: https://a.test/2\n"
    items, peak = read_capped(data, chunk=4096, window=4096)
    assert [type(i) for i in items] == [Document, InvalidDocument, Document]
    assert items[1].line == 2 and "over the 1,000-byte limit" in items[1].error
    assert peak < len(data) // 10  # ~1 MB of input


def test_a_long_line_is_not_held() -> None:
    """One line of 2 MB (a record with no line end at all, or a long value), under a
    1,000-byte cap: its document is reported at its line and skipped, the next
    one read, and neither the line nor its text is held whole (it was, ~4 times
    over, and copied again at every read: quadratic)."""
    for tail in (b"", b"\n---\nwebUrl: https://a.test/2\n"):
        data = b"webUrl: https://a.test/1\n---\nexcerpt: " + b"x" * 2_000_000 + tail
        items, peak = read_capped(data, chunk=4096)
        assert [i.line for i in items if isinstance(i, InvalidDocument)] == [2]
        assert len(items) == (3 if tail else 2)
        assert peak < len(data) // 10


def test_a_long_run_of_comments_after_a_record_is_not_held() -> None:
    """A record, then 2 MB of comment lines (and `%` lines that are no directives),
    under a 1,000-byte cap: the document is over the cap once the run passes it with
    no directive line that the next `---` could take, so it is reported and
    skipped there, and the run read without being held (it was held whole, up to
    the whole-file bound)."""
    run = (b"# a comment\n" * 50 + b"%not a directive\n") * 3_000
    data = b"webUrl: https://a.test/1\n---\nwebUrl: https://a.test/2\n" + run
    data += b"%YAML 1.1\n# c\n---\nwebUrl: https://a.test/3\n"
    items, peak = read_capped(data, chunk=4096, window=4096)
    assert [type(i) for i in items] == [Document, InvalidDocument, Document]
    assert items[1].line == 2 and items[2].line == data.count(b"\n")
    assert peak < len(data) // 10


def test_a_long_run_of_comments_in_a_document_with_no_content_is_not_held() -> None:
    """A `---` (or a directive, or a `...`) followed by a long run of blank and comment
    lines, under a 1,000-byte cap: what the run is depends on all of its lines, and it
    was held whole, up to the whole-file bound. It is folded into a few lines that
    read as it does: the memory does not grow with the run (3 times the run takes no
    more than one), and the lines after it are still said at their own line."""
    run = b"# a comment\n" * 40_000 + b"   \n\t# tab\n" * 20_000
    record = b"webUrl: https://a.test/2\n"
    for head, tail in (
        (b"---\n", b"---\n" + record),  # nothing in it: no record
        (b"--- # c\n", b""),
        (b"webUrl: https://a.test/1\n---\n%YAML 1.1\n", b"---\n" + record),
        (b"webUrl: https://a.test/1\n...\n", b"...\n" + record),
        (b"webUrl: https://a.test/1\n%TAG ! tag:x,2000:\n", b"%YAML 1.1\n---\n" + record),
        (b"---\n", record),  # a record after it: over the cap
    ):
        read_capped(head + tail)  # the YAML reader's first imports are not the run's memory
        items, peak = read_capped(head + run + tail, chunk=4096, window=4096)
        longer, longer_peak = read_capped(head + run * 3 + tail, chunk=4096, window=4096)
        assert len(items) == len(longer)
        # three times the run takes no more (the regex engine's state for the lines
        # of one window, ~250-550 bytes a line without possessive repeats, which
        # Python 3.11.2 matches wrongly: frontmatter.py), and under one run's size
        assert longer_peak <= peak + 64 * 1024 and peak < len(run), (head, peak, longer_peak)
