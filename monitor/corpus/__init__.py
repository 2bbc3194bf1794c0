"""Read article documents → Document or InvalidDocument records (CONTRACT section 1).

The only module that touches corpus files. Everything is streamed: file by
file, record by record, so memory holds what the caller keeps and no more.
A malformed record becomes an InvalidDocument (source, line, what to fix)
and the others go on; nothing here raises for bad input.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import (
    LINE_SUFFIXES,
    SUFFIXES,
    DecodeError,
    decode,
    iter_files,
    read_lines,
    read_text,
)
from monitor.corpus.frontmatter import parse_front_matter
from monitor.corpus.json_stream import parse_json, parse_json_line, parse_json_lines, split_lines

__all__ = [
    "SUFFIXES",
    "iter_documents",
    "iter_files",
    "parse_bytes",
    "parse_text",
]

Item = Document | InvalidDocument


def parse_text(source: str, text: str, suffix: str) -> Iterator[Item]:
    """Records of text already in hand; `suffix` (".json", ".txt", ...) picks the format.

    Unknown suffixes are read as front matter.
    """
    suffix = suffix.lower()
    text = text.removeprefix("\ufeff")
    if suffix == ".json":
        yield from parse_json(source, text)
    elif suffix in LINE_SUFFIXES:
        yield from parse_json_lines(source, split_lines(text))
    else:
        yield from parse_front_matter(source, text, plain_yaml=suffix in (".yaml", ".yml"))


def parse_bytes(source: str, data: bytes, suffix: str) -> Iterator[Item]:
    """Records of raw file content: decoding errors become an InvalidDocument."""
    try:
        text = decode(data)
    except DecodeError as exc:
        yield InvalidDocument(source, exc.line, exc.message)
        return
    yield from parse_text(source, text, suffix)


def _read_error(source: str, exc: OSError) -> InvalidDocument:
    if isinstance(exc, FileNotFoundError):
        return InvalidDocument(source, None, "no such file or directory")
    if isinstance(exc, PermissionError):
        return InvalidDocument(source, None, "cannot read the file: permission denied")
    if isinstance(exc, IsADirectoryError):
        return InvalidDocument(source, None, "is a directory")
    return InvalidDocument(source, None, f"cannot read the file: {exc.strerror or exc}")


def _jsonl_file(source: str, path: Path) -> Iterator[Item]:
    for line_no, line in read_lines(path):
        if isinstance(line, DecodeError):
            yield InvalidDocument(source, line.line, line.message)
            continue
        if line_no == 1:
            line = line.removeprefix("\ufeff")  # a BOM encoded twice
        item = parse_json_line(source, line_no, line)
        if item is not None:
            yield item


def _load(source: str, path: Path) -> Iterator[Item]:
    suffix = path.suffix.lower()
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO or device?)"
            yield InvalidDocument(source, None, f"is {kind}: give a corpus file or directory")
            return
        if suffix in LINE_SUFFIXES:
            yield from _jsonl_file(source, path)
            return
        text = read_text(path)
    except OSError as exc:
        yield _read_error(source, exc)
        return
    except DecodeError as exc:
        yield InvalidDocument(source, exc.line, exc.message)
        return
    yield from parse_text(source, text, suffix)


def load_file(path: Path) -> Iterator[Item]:
    """Records of one file; read failures become an InvalidDocument.

    Last line of defence for the daemon: an unexpected exception while
    parsing (a bug here) ends this file with an InvalidDocument naming it,
    instead of ending the process.
    """
    source = str(path)
    try:
        yield from _load(source, path)
    except Exception as exc:  # never let one document stop the others
        yield InvalidDocument(
            source, None, f"internal error while reading this file ({type(exc).__name__}: {exc})"
        )


def iter_documents(paths: Sequence[Path | str]) -> Iterator[Item]:
    """Every record under `paths` (files or directories), in a deterministic order."""
    for path in iter_files(paths):
        yield from load_file(path)
