"""The invalid documents of one `check` run, in bounded memory.

Every invalid document is listed in the report (CONTRACT sections 2-3), and
the report's head cannot be written before the whole corpus is read; a
corpus of millions of broken records held them all in a list (1M garbage
JSONL lines: 690 MB peak). Here the first ones stay in memory, the rest go
to an anonymous temporary file (in $TMPDIR, gone when closed or when the
process ends) in marshalled chunks, and come back in order when the report
is written.

A temporary file that cannot be made or written (disk full, no writable
temporary directory, a file-size limit) loses nothing: the documents stay in
memory from there on, and one warning on stderr says why and what to do.
"""

from __future__ import annotations

import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import IO, Protocol, TypeVar

from monitor.corpus.article import InvalidDocument
from monitor.whole_write import write_all

KEPT = 10_000  # documents held in memory before any goes to disk
KEPT_CHARS = 4 << 20  # ... or fewer, when their texts add up to this many characters
CHUNK = 1_000  # documents written to disk at once
CHUNK_CHARS = 1 << 20  # ... or fewer, when their texts add up to this many characters

_Row = tuple[str, int | None, str]
T = TypeVar("T")


class InvalidList(Protocol):
    """What a report writer needs of the invalid documents: their count, and
    each in input order (a list serves too)."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[InvalidDocument]: ...


def batches(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """The documents (or a report's other items) `size` at a time: a writer writes
    each batch's text, never the text of them all (a corpus may hold millions)."""
    docs = iter(items)
    while batch := list(islice(docs, size)):
        yield batch


def stderr_warning(text: str) -> None:
    from monitor.observe.logs import escape  # only on this rare path (start-up imports)

    sys.stderr.write(escape(text) + "\n")
    sys.stderr.flush()


class InvalidSpill:
    """Invalid documents in input order: the first `kept` in memory, the rest
    on disk in chunks of `chunk`. Iterable any number of times; `len` is exact."""

    def __init__(
        self,
        *,
        kept: int = KEPT,
        kept_chars: int = KEPT_CHARS,
        chunk: int = CHUNK,
        chunk_chars: int = CHUNK_CHARS,
        folder: str | None = None,
        warn: Callable[[str], None] = stderr_warning,
    ) -> None:
        self._kept, self._kept_chars = kept, kept_chars
        self._chunk, self._chunk_chars = max(1, chunk), chunk_chars
        self._folder = folder
        self._warn = warn
        self._head: list[InvalidDocument] = []
        self._head_chars = 0
        self._file: IO[bytes] | None = None
        self._spans: list[tuple[int, int]] = []  # (offset, length) of each chunk on disk
        self._end = 0  # where the next chunk goes
        self._tail: list[InvalidDocument] = []  # after the chunks: not written yet, or unwritable
        self._tail_chars = 0
        self._in_memory = False  # the disk failed once: everything stays here from then on
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    @property
    def spilled(self) -> int:
        """How many chunks are on disk (for tests and the benchmark)."""
        return len(self._spans)

    def append(self, doc: InvalidDocument) -> None:
        self._count += 1
        size = len(doc.source) + len(doc.error)
        if not self._spans and not self._tail and self._fits_head(size):
            self._head.append(doc)
            self._head_chars += size
            return
        self._tail.append(doc)
        self._tail_chars += size
        if not self._in_memory and (
            len(self._tail) >= self._chunk or self._tail_chars >= self._chunk_chars
        ):
            self._spill()

    def _fits_head(self, size: int) -> bool:
        return len(self._head) < self._kept and self._head_chars + size <= self._kept_chars

    def _spill(self) -> None:
        rows: list[_Row] = [(d.source, d.line, d.error) for d in self._tail]
        data = marshal.dumps(rows)
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(dir=self._folder, prefix="article-monitor-")
            _write_at(self._file, data, self._end)
        except OSError as exc:
            self._give_up(exc)
            return
        self._spans.append((self._end, len(data)))
        self._end += len(data)
        self._tail.clear()
        self._tail_chars = 0

    def _give_up(self, exc: OSError) -> None:
        self._in_memory = True
        # not gettempdir(): with no usable temporary folder at all it raises again
        where = self._folder or tempfile.tempdir or "the temporary folder"
        self._warn(
            f"Warning: cannot write invalid documents to a temporary file in {where} "
            f"({exc.strerror or exc}): keeping them in memory; free space there or set "
            "TMPDIR to a writable folder with room"
        )
        if self._file is not None:
            try:
                self._file.truncate(self._end)  # a part-written chunk: its space back
            except OSError:
                pass

    def __iter__(self) -> Iterator[InvalidDocument]:
        yield from self._head
        if self._file is not None:
            fd = self._file.fileno()
            for offset, length in list(self._spans):
                for source, line, error in marshal.loads(_read_at(fd, offset, length)):
                    yield InvalidDocument(source, line, error)
        yield from self._tail

    def close(self) -> None:
        """Drop the temporary file (the documents on disk are gone with it)."""
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> InvalidSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_at(file: IO[bytes], data: bytes, offset: int) -> None:
    fd = file.fileno()
    end = offset + len(data)  # write_all passes what is left: it goes just before `end`
    write_all(lambda rest: os.pwrite(fd, rest, end - len(rest)), data, fd)


def _read_at(fd: int, offset: int, length: int) -> bytes:
    parts = []
    while length:
        part = os.pread(fd, length, offset)
        if not part:
            raise OSError(f"the temporary file of invalid documents ends early at {offset}")
        parts.append(part)
        offset += len(part)
        length -= len(part)
    return b"".join(parts)
