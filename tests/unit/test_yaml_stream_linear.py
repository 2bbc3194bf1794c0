"""A `.yaml` stream read a window at a time costs time linear in the file: a
document that stays open over many windows (a long stretch of comments, a big
record under the cap) is not cut again at every window. Each window cut the
whole text held from its start: 100 MB of comments after a record took 43 s
of CPU (the whole-text reading: 18 s), 512 MB about a quarter of an hour."""

from __future__ import annotations

import io
from collections.abc import Iterator
from unittest import mock

from monitor.corpus import files, frontmatter, parse_text, yaml_stream
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.yaml_stream import read_yaml_stream


def _read_counting(data: bytes, *, window: int) -> tuple[list[object], int]:
    """The records, and how many characters the document cutter was given in all."""
    seen = 0
    cut = frontmatter.iter_yaml_documents

    def counting(text: str) -> Iterator[tuple[int, int, int]]:
        nonlocal seen
        seen += len(text)
        return cut(text)

    with mock.patch.object(yaml_stream, "iter_yaml_documents", counting):
        items = list(read_yaml_stream("s.yaml", io.BytesIO(data), chunk=window, window=window))
    return items, seen


def _whole(data: bytes) -> list[Document | InvalidDocument]:
    return list(parse_text("s.yaml", files.decode(data), ".yaml"))


def test_a_long_stretch_of_comments_is_cut_once() -> None:
    data = (
        b"webUrl: https://a.test/1\n---\nwebUrl: https://a.test/2\n"
        + b"# a comment\n" * 40_000
        + b"---\nwebUrl: https://a.test/3\n"
    )
    items, seen = _read_counting(data, window=4096)
    assert items == _whole(data)
    assert [type(i) for i in items] == [Document, Document, Document]
    assert seen < 3 * len(data)  # was ~40 times the file


def test_a_big_record_under_the_cap_is_cut_once() -> None:
    body = b"".join(b"  line %d of the excerpt\n" % n for n in range(20_000))
    data = b"webUrl: https://a.test/1\nexcerpt: |\n" + body + b"---\nwebUrl: https://a.test/2\n"
    items, seen = _read_counting(data, window=4096)
    assert items == _whole(data)
    assert [type(i) for i in items] == [Document, Document]
    assert seen < 3 * len(data)


def test_records_after_a_suffix_line_at_a_window_end_are_still_their_own() -> None:
    """A `...` line that ends the text in hand ends its document: what follows
    with no marker of its own is the next document, never counted into it."""
    first = b"webUrl: https://a.test/1\n...\n"
    second = b"webUrl: https://a.test/2\nexcerpt: '" + b"x" * 100 + b"'\n"
    data = first + second
    with mock.patch.object(files, "MAX_YAML_BYTES", 150):
        for window in (len(first), len(first) + 1, 7):
            items, _ = _read_counting(data, window=window)
            assert items == _whole(data)
            assert [type(i) for i in items] == [Document, Document]


def test_a_folded_run_of_comments_is_cut_once() -> None:
    """A document with no content and a long run of comments, folded under a small cap
    (and a directive's): still linear, what the cutter is given included."""
    run = b"# a comment\n" * 40_000
    data = b"---\n" + run + b"%YAML 1.1\n" + run + b"---\nwebUrl: https://a.test/2\n"
    with mock.patch.object(files, "MAX_YAML_BYTES", 1000):
        items, seen = _read_counting(data, window=4096)
        assert items == _whole(data)
    assert [i.line for i in items] == [40_002]  # over the cap: the `%YAML` line's document
    assert seen < 2 * len(data)
