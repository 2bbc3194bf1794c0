"""`duplicate_url` across documents, worked out from the store after each corpus pass.

From the store (monitor.storage.duplicates): only the documents whose
articles are owned by another document are re-read, and a document whose
shared article lost its row (the other copy was deleted) is stored again by
the scanner (`adopt`), so the article stays watched. The ids of a shadowed
document are kept by its SHA-256, so it is not re-read each pass.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.corpus import open_regular, parse_stream
from monitor.corpus.article import Document, InvalidDocument
from monitor.storage import duplicates
from monitor.storage.repository import Fingerprint, Repository

if TYPE_CHECKING:
    from monitor.daemon.scan import ScanReport

log = logging.getLogger("monitor.daemon.scan")  # the scan's messages, as before the split


def fetch(path: str) -> tuple[Fingerprint, list[Document], int] | None:
    """A stored document read again (duplicates): its articles, and how many of
    its records are invalid (counted, not kept: a file of a million broken lines
    beside one shared article held them all); None if it cannot be read now."""
    docs: list[Document] = []
    invalid = 0
    try:
        with open_regular(Path(path)) as (st, fh):
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            fh.seek(0)
            for item in parse_stream(path, fh, Path(path).suffix):
                if isinstance(item, InvalidDocument):
                    invalid += 1
                else:
                    docs.append(item)
    except OSError:
        return None  # reported by the pass itself; retried at the next one
    return Fingerprint(st.st_mtime_ns, st.st_size, digest), docs, invalid


class DuplicateMarks:
    """The scanner's `duplicate_url` pass, with the ids of shadowed documents it keeps."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        # ids (and lines) of shadowed documents, by path, as of a sha256: not re-read each pass
        self._ids: dict[str, tuple[str, list[tuple[str, int]]]] = {}

    def _doc_ids(self, doc: duplicates.Shadowed) -> list[tuple[str, int]] | None:
        cached = self._ids.get(doc.path)
        if cached is not None and cached[0] == doc.sha256:
            return cached[1]
        read = fetch(doc.path)
        if read is None:
            return cached[1] if cached else None
        fp, docs, _ = read
        ids = [(d.id, d.line) for d in docs]
        self._ids[doc.path] = (fp.sha256, ids)
        return ids

    def mark(self, report: ScanReport, adopt: Callable[[str, ScanReport], bool]) -> None:
        """Mark `duplicate_url` on exactly the articles held twice; log the new ones."""
        engine = self.repo.engine
        shadowed = duplicates.shadowed_documents(engine)
        self._ids = {k: v for k, v in self._ids.items() if k in {d.path for d in shadowed}}
        held: dict[str, list[tuple[str, int]]] = {}
        for doc in shadowed:
            ids = self._doc_ids(doc)
            if ids is None:  # unknown is not "no duplicates": keep the marks as they are
                log.debug("duplicate_url kept as it was: %s cannot be read now", doc.path)
                return
            held[doc.path] = ids
        owners = duplicates.article_sources(engine, (i for ids in held.values() for i, _ in ids))
        for path, ids in held.items():
            if any(i not in owners for i, _ in ids) and adopt(path, report):
                owners.update(duplicates.article_sources(engine, (i for i, _ in ids)))
        dups: dict[str, list[str]] = {}
        for path, ids in held.items():
            counts = Counter(i for i, _ in ids)
            for i, line in ids:
                owner, owner_line = owners.get(i, (path, line))
                if counts[i] > 1 or owner != path:
                    dups.setdefault(i, [f"{owner}:{owner_line}"]).append(f"{path}:{line}")
        amp = duplicates.shared_amp_articles(engine)
        for i in amp:
            dups.setdefault(i, [])
        added, cleared = duplicates.mark_duplicates(engine, dups)
        report.duplicates = len(dups)
        for i in sorted(added):
            where = ", ".join(dict.fromkeys(dups[i]))
            if where:
                log.warning("duplicate_url: article %s is in several documents: %s", i, where)
            else:
                log.warning(
                    "duplicate_url: article %s shares its ampWebUrl with another article", i
                )
        if cleared:
            log.info("duplicate_url cleared for %d articles", len(cleared))
