"""The invalid documents of one `check` run, in bounded memory.

Every invalid document is listed in the report (CONTRACT sections 2-3), and
the report's head cannot be written before the whole corpus is read; a
corpus of millions of broken records held them all in a list (1M garbage
JSONL lines: 690 MB peak). They are kept by check/spill.py: the first ones
in memory, the rest in marshalled chunks on disk, back in order for the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from monitor.check.spill import RowForm, Sizes, Spill
from monitor.check.spill import batches as batches
from monitor.check.spill import stderr_warning as stderr_warning
from monitor.corpus.article import InvalidDocument

SIZES = Sizes(
    kept=10_000,  # documents held in memory before any goes to disk
    kept_chars=4 << 20,  # ... or fewer, when their texts add up to this many characters
    chunk=1_000,  # documents written to disk at once
    chunk_chars=1 << 20,  # ... or fewer, when their texts add up to this many characters
)

_Row = tuple[str, int | None, str]


class InvalidList(Protocol):
    """What a report writer needs of the invalid documents: their count, and
    each in input order (a list serves too)."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[InvalidDocument]: ...


def _rows(docs: list[InvalidDocument]) -> list[_Row]:
    return [(d.source, d.line, d.error) for d in docs]


def _docs(rows: list[_Row]) -> Iterator[InvalidDocument]:
    for source, line, error in rows:
        yield InvalidDocument(source, line, error)


FORM: RowForm[InvalidDocument] = RowForm(
    "invalid documents", _rows, _docs, lambda d: len(d.source) + len(d.error)
)


class InvalidSpill(Spill[InvalidDocument]):
    """Invalid documents in input order: the first `kept` in memory, the rest
    on disk in chunks of `chunk`. Iterable any number of times; `len` is exact.
    No `sizes`: the module's SIZES, read when the store is made (tests lower them)."""

    def __init__(
        self,
        sizes: Sizes | None = None,
        *,
        folder: str | None = None,
        warn: Callable[[str], None] = stderr_warning,
    ) -> None:
        super().__init__(FORM, SIZES if sizes is None else sizes, folder=folder, warn=warn)

    def __enter__(self) -> InvalidSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
