"""Read article documents → Document or InvalidDocument records (CONTRACT section 1).

The only module that touches corpus files. Everything is streamed: file by
file, record by record, so memory holds what the caller keeps and no more.
A malformed record becomes an InvalidDocument (source, line, what to fix)
and the others go on; nothing here raises for bad input.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import (
    LINE_SUFFIXES,
    SUFFIXES,
    YAML_SUFFIXES,
    DecodeError,
    NotRegularFile,
    Unreadable,
    decode,
    iter_files,
    open_regular,
    read_failure,
    read_lines,
    read_whole,
    source_name,
    vanished,
)
from monitor.corpus.json_stream import (
    parse_json,
    parse_json_line,
    parse_json_lines,
    read_json_stream,
    split_lines,
)

__all__ = [
    "SUFFIXES",
    "Unreadable",
    "folder_error",
    "iter_documents",
    "iter_files",
    "jsonl_item",
    "load_file",
    "open_regular",
    "parse_bytes",
    "parse_stream",
    "parse_text",
    "read_error",
    "vanished",
]

Item = Document | InvalidDocument


CR_ONLY = (
    " (its lines end in CR alone, as on classic Mac OS, so it reads as one line: "
    "save it with LF or CRLF line ends)"
)


def _cr_only(text: str) -> bool:
    """Line ends of CR alone: the file is one line to every reader here."""
    return "\r" in text.rstrip("\r") and "\n" not in text


def parse_text(source: str, text: str, suffix: str) -> Iterator[Item]:
    """Records of text already in hand; `suffix` (".json", ".txt", ...) picks the format.

    Unknown suffixes are read as front matter. A record refused in a file whose
    lines end in CR alone says so (its error named line 1 of a file of many).
    """
    text = text.removeprefix("\ufeff")
    items = _parse_text(source, text, suffix.lower())
    if "\r" not in text or not _cr_only(text):
        yield from items
        return
    for item in items:
        if isinstance(item, InvalidDocument):
            item = InvalidDocument(item.source, item.line, item.error + CR_ONLY)
        yield item


def _parse_text(source: str, text: str, suffix: str) -> Iterator[Item]:
    if suffix == ".json":
        yield from parse_json(source, text)
    elif suffix in LINE_SUFFIXES:
        yield from parse_json_lines(source, split_lines(text))
    else:
        # imported here: YAML (~20 ms of imports) is needed only by a corpus
        # that has front matter, and `check` of JSON Lines pays for every ms
        from monitor.corpus.frontmatter import parse_front_matter

        yield from parse_front_matter(source, text, plain_yaml=suffix in (".yaml", ".yml"))


def _jsonl(source: str, fh: BinaryIO) -> Iterator[Item]:
    for line_no, line in read_lines(fh):
        if isinstance(line, DecodeError):
            yield InvalidDocument(source, line.line, line.message)
            continue
        item = jsonl_item(source, line_no, line)
        if item is not None:
            yield item


def jsonl_item(source: str, line_no: int, line: str) -> Item | None:
    """One decoded JSON Lines line, its line end stripped (`read_lines`), as `check`
    reads it; None for a blank line. `sign --in-place` reads each line through this."""
    item = parse_json_line(source, line_no, line)
    if isinstance(item, InvalidDocument) and "\r" in line and _cr_only(line):
        item = InvalidDocument(item.source, item.line, item.error + CR_ONLY)
    return item


def parse_stream(source: str, fh: BinaryIO, suffix: str) -> Iterator[Item]:
    """The one reader of a corpus file's content, for `check` and the daemon alike.

    JSON Lines are read line by line (one bad line costs that line only); a
    `.yaml` stream and a `.json` file a window at a time, each document (each
    element of a list) capped alone; other formats are read whole, up to the
    limit of a whole file. An OSError
    while reading is raised: the caller decides what an unreadable file means
    (`check` reports it; the daemon keeps what it knew). Any other exception
    (a bug here) ends the file with an InvalidDocument naming it, so one
    document never stops the others.
    """
    suffix = suffix.lower()
    try:
        if suffix in LINE_SUFFIXES:
            yield from _jsonl(source, fh)
            return
        if suffix in YAML_SUFFIXES:
            from monitor.corpus.yaml_stream import read_yaml_stream  # YAML: imported late

            yield from read_yaml_stream(source, fh, suffix=suffix)
            return
        if suffix == ".json":
            yield from read_json_stream(source, fh)
            return
        try:
            text = decode(read_whole(fh, suffix))  # the bytes are freed once decoded
        except DecodeError as exc:
            yield InvalidDocument(source, exc.line, exc.message)
            return
        yield from parse_text(source, text, suffix)
    except OSError:
        raise
    except Exception as exc:  # never let one document stop the others
        from monitor.install import cannot_import

        if cannot_import(exc) is not None:  # the install's, not this file's: every file's
            raise
        yield InvalidDocument(
            source, None, f"internal error while reading this file ({type(exc).__name__}: {exc})"
        )


def parse_bytes(source: str, data: bytes, suffix: str) -> Iterator[Item]:
    """Records of raw file content, read exactly as `load_file` reads the file."""
    yield from parse_stream(source, io.BytesIO(data), suffix)


def read_error(path: Path, exc: OSError) -> InvalidDocument:
    """An unreadable file as a record: why, in words, without a traceback."""
    source = source_name(path)
    why = read_failure(path, exc)
    if isinstance(exc, NotRegularFile):
        return InvalidDocument(source, None, f"{why}: give a corpus file or directory")
    if isinstance(exc, FileNotFoundError):
        return InvalidDocument(source, None, why)
    return InvalidDocument(source, None, f"cannot read the file: {why}")


def folder_error(folder: Unreadable) -> InvalidDocument:
    return InvalidDocument(
        source_name(folder.path),
        None,
        f"cannot read the folder: {folder.reason}; the documents in it were not checked",
    )


def load_file(path: Path, *, listed: bool = False) -> Iterator[Item]:
    """Records of one file; read failures become an InvalidDocument.

    `listed`: the file was found by walking a folder, so if it has vanished
    since, it is simply gone and gives nothing (a path given by name that
    does not exist is an error).
    """
    source = source_name(path)
    try:
        with open_regular(path) as (_st, fh):
            yield from parse_stream(source, fh, path.suffix)
    except OSError as exc:
        if listed and vanished(path, exc):
            return
        yield read_error(path, exc)


def iter_documents(paths: Sequence[Path | str]) -> Iterator[Item]:
    """Every record under `paths` (files or directories), in a deterministic order.

    A folder that cannot be listed is an InvalidDocument naming it, never an
    empty folder.
    """
    given = {Path(p) for p in paths}
    for found in iter_files(paths):
        if isinstance(found, Unreadable):
            yield folder_error(found)
        else:
            yield from load_file(found, listed=found not in given)
