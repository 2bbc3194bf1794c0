"""Items of one `check` run kept in input order, in bounded memory.

The report's head cannot be written before the whole corpus is read (its
invalid documents and its duplicates are corpus-wide), so whatever the run
holds per document until then grows with the corpus. Here the first items
stay in memory, the rest go to an anonymous temporary file (in $TMPDIR, gone
when closed or when the process ends) as marshalled chunks of plain rows, and
come back in order when the report is written. The stores of invalid
documents (invalid_spill.py) and of articles (entry_store.py) are this one
mechanism with their own row form.

A temporary file that cannot be made or written (disk full, no writable
temporary directory, a file-size limit) loses nothing: the items stay in
memory from there on, and one warning on stderr says why and what to do.
"""

from __future__ import annotations

import errno
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, Generic, TypeVar

from monitor.whole_write import write_all

T = TypeVar("T")
BATCH = 1_000  # items a report writer turns into text at once


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """The items `size` at a time: a writer writes each batch's text, never the
    text of them all (a corpus may hold millions)."""
    docs = iter(items)
    while batch := list(islice(docs, size)):
        yield batch


def stderr_warning(text: str) -> None:
    from monitor.observe.logs import escape  # only on this rare path (start-up imports)

    sys.stderr.write(escape(text) + "\n")
    sys.stderr.flush()


@dataclass(frozen=True, slots=True)
class RowForm(Generic[T]):
    """How one kind of item travels to disk: as a marshal-able row, and back;
    `size` weighs an item in characters (what the thresholds count)."""

    what: str  # named in the warning: "invalid documents", "articles"
    to_rows: Callable[[list[T]], Any]
    from_rows: Callable[[Any], Iterable[T]]
    size: Callable[[T], int]


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many items (and characters) stay in memory before any goes to disk,
    and how many go to disk at once."""

    kept: int
    kept_chars: int
    chunk: int
    chunk_chars: int


class Spill(Generic[T]):
    """Items in input order: the first `kept` in memory, the rest on disk in
    chunks of `chunk`. Iterable any number of times (or drained once, each
    item let go as it is read); `len` is exact."""

    def __init__(
        self,
        form: RowForm[T],
        sizes: Sizes,
        *,
        folder: str | None = None,
        warn: Callable[[str], None] = stderr_warning,
    ) -> None:
        self._form = form
        self._kept, self._kept_chars = sizes.kept, sizes.kept_chars
        self._chunk, self._chunk_chars = max(1, sizes.chunk), sizes.chunk_chars
        self._folder = folder
        self._warn = warn
        self._head: list[T] = []
        self._head_chars = 0
        self._file: IO[bytes] | None = None
        self._spans: list[tuple[int, int]] = []  # (offset, length) of each chunk on disk
        self._end = 0  # where the next chunk goes
        self._tail: list[T] = []  # after the chunks: not written yet, or unwritable
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

    def append(self, item: T) -> None:
        self._count += 1
        size = self._form.size(item)
        if not self._spans and not self._tail and self._fits_head(size):
            self._head.append(item)
            self._head_chars += size
            return
        self._tail.append(item)
        self._tail_chars += size
        if not self._in_memory and (
            len(self._tail) >= self._chunk or self._tail_chars >= self._chunk_chars
        ):
            self._spill()

    def _fits_head(self, size: int) -> bool:
        return len(self._head) < self._kept and self._head_chars + size <= self._kept_chars

    def _spill(self) -> None:
        data = marshal.dumps(self._form.to_rows(self._tail))
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
        if exc.errno == errno.EFBIG:  # no folder has room past the limit: TMPDIR cannot help
            advice = "raise the file-size limit (ulimit -f)"
        else:
            advice = "free space there or set TMPDIR to a writable folder with room"
        self._warn(
            f"Warning: cannot write {self._form.what} to a temporary file in {where} "
            f"({exc.strerror or exc}): keeping them in memory; {advice}"
        )
        if self._file is not None:
            try:
                self._file.truncate(self._end)  # a part-written chunk: its space back
            except OSError:
                pass

    def __iter__(self) -> Iterator[T]:
        yield from self._head
        yield from self._on_disk(list(self._spans))
        yield from self._tail

    def drain(self) -> Iterator[T]:
        """Every item once, in order, none held once it is yielded (its reader
        keeps what it needs): the store is empty afterwards. Nothing may be
        appended while it is drained."""
        self._count = self._head_chars = self._tail_chars = 0
        yield from _popped(self._head)
        spans, self._spans = self._spans, []
        yield from self._on_disk(spans)
        yield from _popped(self._tail)

    def _on_disk(self, spans: list[tuple[int, int]]) -> Iterator[T]:
        if self._file is None:
            return
        fd = self._file.fileno()
        for offset, length in spans:
            yield from self._form.from_rows(marshal.loads(_read_at(fd, offset, length)))

    def close(self) -> None:
        """Drop the temporary file (the items on disk are gone with it)."""
        if self._file is not None:
            self._file.close()


def _popped(items: list[T]) -> Iterator[T]:
    """The items in order, each removed from the list before it is yielded."""
    items.reverse()
    while items:
        yield items.pop()


def _write_at(file: IO[bytes], data: bytes, offset: int) -> None:
    fd = file.fileno()
    end = offset + len(data)  # write_all passes what is left: it goes just before `end`
    write_all(lambda rest: os.pwrite(fd, rest, end - len(rest)), data, fd)


def _read_at(fd: int, offset: int, length: int) -> bytes:
    parts = []
    while length:
        part = os.pread(fd, length, offset)
        if not part:
            raise OSError(f"the temporary file of a check run ends early at {offset}")
        parts.append(part)
        offset += len(part)
        length -= len(part)
    return b"".join(parts)
