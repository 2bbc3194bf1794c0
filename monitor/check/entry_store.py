"""The valid articles of one `check` run, in input order, in bounded memory.

Nothing of the report can be written before the whole corpus is read: an
article's duplicates are corpus-wide. Every entry was held until then
(100,000 small articles: 250 MB peak, ~1.5 KB an entry). Here the entries
wait in check/spill.py's store (the first ones in memory, the rest on disk
in their row form, check/entry_row.py), each with its document's identity,
and the duplicate findings are added as they come back, in input order.
The duplicate detector itself stays in memory (a digest and a tuple a
document, monitor/rules/static.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from monitor.check import entry_row
from monitor.check.report.rows import ArticleEntry
from monitor.check.spill import RowForm, Sizes, Spill, stderr_warning
from monitor.rules.static import DocIdentity, DuplicateDetector

SIZES = Sizes(
    kept=5_000,  # entries held in memory before any goes to disk (a small run pays nothing)
    kept_chars=4 << 20,  # ... or fewer, when their texts (URLs, titles, excerpts...) are longer
    chunk=1_000,  # entries written to disk at once (~450 KB for small articles)
    chunk_chars=1 << 20,  # ... or fewer, when they add up to this many characters
)

FORM: RowForm[entry_row.Pair] = RowForm(
    "articles", entry_row.to_rows, entry_row.from_rows, entry_row.size
)


class EntryStore:
    """Entries in input order, whole (duplicates included) when they are read
    back. No `sizes`: the module's SIZES, read when the store is made (tests
    lower them)."""

    def __init__(
        self,
        sizes: Sizes | None = None,
        *,
        folder: str | None = None,
        warn: Callable[[str], None] = stderr_warning,
    ) -> None:
        self.dups = DuplicateDetector()
        self._spill: Spill[entry_row.Pair] = Spill(
            FORM, SIZES if sizes is None else sizes, folder=folder, warn=warn
        )

    def add(self, entry: ArticleEntry, identity: DocIdentity | None = None) -> None:
        """One more entry; `identity` (its document's) takes part in duplicate detection."""
        if identity is not None:
            self.dups.add(identity)
        self._spill.append((entry, identity))

    def __len__(self) -> int:
        return len(self._spill)

    @property
    def spilled(self) -> int:
        """How many chunks are on disk (for tests and the benchmark)."""
        return self._spill.spilled

    def __iter__(self) -> Iterator[ArticleEntry]:
        for pair in self._spill:
            yield self._whole(pair)

    def drain(self) -> Iterator[ArticleEntry]:
        """Each entry once, whole, none held by the store once yielded."""
        for pair in self._spill.drain():
            yield self._whole(pair)

    def _whole(self, pair: entry_row.Pair) -> ArticleEntry:
        entry, identity = pair
        if identity is None:
            return entry
        dups = self.dups.problems_for(identity)
        if not dups:
            return entry
        return dataclasses.replace(entry, problems=[*entry.problems, *dups])

    def close(self) -> None:
        """Drop the temporary file (the entries on disk are gone with it)."""
        self._spill.close()

    def __enter__(self) -> EntryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
