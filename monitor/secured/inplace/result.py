"""What a file's rewrite reports, and the refusal that leaves the file as it was:
one vocabulary for the three ways a file is rewritten."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from monitor.corpus.article import InvalidDocument

UNCHANGED: Final = "left unchanged"
CHANGES_MORE: Final = "the rewrite would change more than `secured` (unusual YAML or JSON layout?)"
CHANGED_SIGNING: Final = "changed while it was being signed; run sign again"
# a rule of the reader's walk that the streamed `.json` rewrite rests on, broken
BUG: Final = "a bug in article-monitor: please report it"


@dataclass(slots=True)
class FileResult:
    """What happened to one file: records signed, refusals (failures), notes (not failures)."""

    signed: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    invalid: list[InvalidDocument] = field(default_factory=list)
    folder: Path | None = None  # replaced a file here: sync it (`sync_folders`)
    # said at once instead of kept in `invalid`, where a `.json` list is streamed: all of
    # them kept, a 10 MB list of 5,000,000 bad elements peaked at 1 GB (`check`: 45 MB)
    report: Callable[[InvalidDocument], object] | None = None

    def found(self, item: InvalidDocument) -> None:
        if self.report is None:
            self.invalid.append(item)
        else:
            self.report(item)


class Refused(Exception):
    """The file is left as it was; the message says why and what to do."""
