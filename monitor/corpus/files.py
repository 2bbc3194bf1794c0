"""Finding corpus files and turning their bytes into text (all file I/O of the corpus).

Directories are walked in sorted order, hidden entries skipped, so two runs
over the same tree see the same documents in the same order. JSON Lines files
are read line by line; every other format is read whole (a `.json` list is
then streamed element by element from the text).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

SUFFIXES = frozenset({".txt", ".md", ".yaml", ".yml", ".json", ".jsonl", ".ndjson"})
LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})

# A whole-file format above this size is refused rather than read into memory.
MAX_FILE_BYTES = 512 * 1024 * 1024

BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class DecodeError(Exception):
    """Bytes that are not UTF-8 text; `line` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _walk(root: Path, skip: Sequence[Path]) -> Iterator[Path]:
    """Corpus files under `root`, sorted; directories whose resolved path is in `skip` pruned."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        base = Path(dirpath)
        if skip:
            dirnames[:] = [d for d in dirnames if _resolved(base / d) not in skip]
        for name in sorted(filenames):
            if not _hidden(name) and Path(name).suffix.lower() in SUFFIXES:
                yield base / name


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def iter_files(paths: Sequence[Path | str]) -> Iterator[Path]:
    """Every corpus file under `paths`, in a deterministic order, each once.

    A directory is searched recursively for the corpus suffixes (files of a
    directory before its subdirectories, both sorted by name; hidden files
    and directories skipped; symlinked directories not followed). A path
    that is a file is yielded whatever its suffix. A path that does not exist
    is yielded unchanged, so the reader reports it.

    Overlapping arguments (`a/` and `a/b/`, or `a/x.txt` and `a/`) yield each
    file once. That bookkeeping is per argument, never per file found, so
    memory does not grow with the size of the corpus.
    """
    walked: list[Path] = []  # resolved directories already searched
    explicit: set[Path] = set()  # resolved files given by name
    for given in paths:
        path = Path(given)
        resolved = _resolved(path)
        if _within(resolved, walked) or resolved in explicit:
            continue
        if path.is_dir():
            inner = [d for d in walked if resolved in d.parents]
            for file in _walk(path, inner):
                if not explicit or _resolved(file) not in explicit:
                    yield file
            walked.append(resolved)
        else:
            explicit.add(resolved)
            yield path


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, *, base_offset: int = 0, base_line: int = 1) -> str:
    """UTF-8 (optional BOM) bytes → text, or DecodeError saying where and why.

    `base_offset`/`base_line` place a fragment (one JSONL line) in its file.
    """
    skip = 0
    if base_offset == 0:
        if data.startswith(BOM):
            skip = len(BOM)
        elif data.startswith(_UTF16_BOMS):
            raise DecodeError("the file is UTF-16: save it as UTF-8", 1)
    nul = data.find(b"\0", skip)
    if nul >= 0:
        line = base_line + data.count(b"\n", 0, nul)
        raise DecodeError(
            f"binary data: NUL byte at byte offset {base_offset + nul} (line {line}); "
            "expected UTF-8 text",
            line,
        )
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = skip + exc.start
        line = base_line + data.count(b"\n", 0, at)
        raise DecodeError(
            f"not valid UTF-8: byte 0x{data[at]:02x} at byte offset {base_offset + at} "
            f"(line {line}); save the file as UTF-8",
            line,
        ) from None


def read_text(path: Path) -> str:
    """The whole file as text; OSError or DecodeError on failure."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DecodeError(
            f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for whole-file "
            "formats: split it, or use JSON Lines (.jsonl), which is streamed",
            None,
        )
    return decode(path.read_bytes())


def read_lines(path: Path) -> Iterator[tuple[int, str | DecodeError]]:
    """(line number, text or DecodeError) for each line, read lazily.

    A NUL byte means the file is binary, not a line with a typo: that error
    is yielded and reading stops.
    """
    offset = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                yield line_no, decode(raw.rstrip(b"\r\n"), base_offset=offset, base_line=line_no)
            except DecodeError as exc:
                yield line_no, exc
                if b"\0" in raw or (exc.line == 1 and raw.startswith(_UTF16_BOMS)):
                    return
            offset += len(raw)
