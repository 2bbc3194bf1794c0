"""A `.yaml` file rewritten in place between the two passes of its windowed reading
(an editor saving while `check` or the daemon's scan reads it) ends in a clear
error, never a silent reading of the second version on the findings of the first
(its CR line ends, its aliases' allowance, its size under the whole-file bound)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from monitor.corpus import load_file, yaml_stream
from monitor.corpus.article import Document, InvalidDocument

FIRST = b"".join(b"---\nwebUrl: https://a.test/%d\n" % n for n in range(50))


def _read_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: bytes
) -> list[Document | InvalidDocument]:
    """The records of a file holding FIRST, rewritten in place as `second` (same
    inode, same open description) once the first pass is over."""
    path = tmp_path / "s.yaml"
    path.write_bytes(FIRST)
    survey: Callable[[BinaryIO, int, str], object] = yaml_stream._survey

    def then_rewrite(fh: BinaryIO, chunk: int, suffix: str) -> object:
        found = survey(fh, chunk, suffix)
        with path.open("r+b") as out:
            out.truncate(0)
            out.write(second)
        return found

    monkeypatch.setattr(yaml_stream, "_survey", then_rewrite)
    return list(load_file(path))


@pytest.mark.parametrize(
    "second",
    [
        FIRST.replace(b"https://a.test/7\n", b"https://a.test/X\n"),  # same size
        FIRST + b"---\nwebUrl: https://a.test/new\n",  # grown
        FIRST[: len(FIRST) // 2],  # cut short
        FIRST[:100] + b"\xff" + FIRST[101:],  # no longer UTF-8
    ],
    ids=["same-size", "grown", "shrunk", "not-utf8"],
)
def test_a_file_rewritten_between_the_passes_is_said_to_have_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: bytes
) -> None:
    items = _read_rewritten(tmp_path, monkeypatch, second)
    assert isinstance(items[-1], InvalidDocument)
    assert items[-1].error == yaml_stream.CHANGED
    assert items[-1].line is None
    assert not any(isinstance(i, InvalidDocument) for i in items[:-1])


def test_a_file_rewritten_with_the_same_bytes_reads_as_usual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _read_rewritten(tmp_path, monkeypatch, FIRST)
    assert len(items) == 50 and all(isinstance(i, Document) for i in items)
