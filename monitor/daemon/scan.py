"""Keep the database in step with the corpus files: new, changed, deleted.

A file is re-read only when its mtime or size moved, and re-parsed only when
its SHA-256 changed too; a changed record gets its `secured` field verified
again. A configured path that has vanished (an unmounted volume) is
reported, and its documents are kept: deleting a corpus because a mount
blinked would throw away the schedule of every target in it. A file that
cannot be read is reported and retried at the next rescan.

After each pass, `duplicate_url` is worked out across documents from the
store (monitor.storage.duplicates): only the documents whose articles are
owned by another document are re-read, and a document whose shared article
lost its row (the other copy was deleted) is stored again, so the article
stays watched.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import stat
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from monitor.config import Settings
from monitor.corpus import iter_files, parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.observe.logs import redact_url
from monitor.rules.static import document_problems
from monitor.secured.keys import KeyRing
from monitor.secured.verify import verify_document
from monitor.storage import duplicates
from monitor.storage.repository import ArticleRecord, Fingerprint, Repository, now_ms
from monitor.targets import document_refs
from monitor.vocabulary import ProblemCode

log = logging.getLogger(__name__)

UNREAD = -1  # the mtime_ns stored for a file that could not be read: never equal to a real one


@dataclass(slots=True)
class ScanReport:
    files: int = 0
    changed: int = 0
    removed: int = 0
    invalid: int = 0
    unreadable: list[str] = field(default_factory=list)
    missing_roots: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def problems(self) -> list[str]:
        out = [f"corpus path missing: {p}" for p in self.missing_roots]
        out += [f"unreadable document: {p}" for p in self.unreadable[:20]]
        return out


def provider_of(doc: Document) -> str | None:
    """A bounded label for `provider_targets_down`: the provider's domain, else the host."""
    prov = doc.article.provider
    if prov is not None and prov.domain:
        return prov.domain.strip().lower()[:255] or None
    try:
        return (urlsplit(doc.article.webUrl).hostname or "")[:255] or None
    except ValueError:
        return None


def content_hash(raw: object) -> str:
    data = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class CorpusScanner:
    def __init__(self, repo: Repository, settings: Settings, keyring: KeyRing) -> None:
        self.repo = repo
        self.settings = settings
        self.keyring = keyring
        self._failing: dict[str, str] = {}  # unreadable files → why (logged once per cause)
        # ids (and lines) of shadowed documents, by path, as of a sha256: not re-read each pass
        self._ids: dict[str, tuple[str, list[tuple[str, int]]]] = {}

    def records(self, items: list[Document | InvalidDocument]) -> tuple[list[ArticleRecord], int]:
        now = datetime.now(UTC)
        kinds = set(self.settings.kinds)
        out: list[ArticleRecord] = []
        invalid = 0
        for item in items:
            if isinstance(item, InvalidDocument):
                invalid += 1
                where = f"{item.source}:{item.line}" if item.line else item.source
                log.warning("invalid document %s: %s", where, item.error)
                continue
            problems = [p.code.value for p in document_problems(item, now=now)]
            sig = verify_document(item.raw, self.keyring, exclude=self.settings.exclude_fields)
            if sig.status.is_problem:
                problems.append(ProblemCode.SIGNATURE_INVALID.value)
                log.warning(
                    "secured is %s",
                    sig.status.value,
                    extra={"ctx": {"article": item.id, "source": item.source}},
                )
            out.append(
                ArticleRecord(
                    id=item.id,
                    source=item.source,
                    line=item.line,
                    web_url=redact_url(item.article.webUrl),
                    provider=provider_of(item),
                    content_hash=content_hash(item.raw),
                    problems=problems,
                    signature=sig,
                    refs=document_refs(item, related=self.settings.related, kinds=kinds),
                )
            )
        return out, invalid

    def scan(self, *, force: bool = False) -> ScanReport:
        """One pass over the corpus. `force` re-reads every file (SIGHUP: new keys)."""
        report = ScanReport()
        known = self.repo.documents()
        roots = [Path(p) for p in self.settings.paths]
        present = []
        for root in roots:
            if root.exists():
                present.append(root)
            else:
                report.missing_roots.append(str(root))
                log.error("corpus path %s is missing; keeping its documents until it returns", root)
        seen: set[str] = set()
        for path in iter_files(present):
            key = str(path)
            seen.add(key)
            report.files += 1
            prev = known.get(key)
            try:
                st = path.stat()
                if (
                    not force
                    and prev is not None
                    and (prev.mtime_ns, prev.size) == (st.st_mtime_ns, st.st_size)
                ):
                    continue
                if not stat.S_ISREG(st.st_mode):
                    # a FIFO would block the read forever, a device could be endless
                    raise OSError(errno.EINVAL, "not a regular file")
                data = path.read_bytes()
            except OSError as exc:
                self._unreadable(key, prev, exc, report)
                continue
            if self._failing.pop(key, None) is not None:
                log.info("%s can be read again", key)
            fp = Fingerprint(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest())
            if not force and prev is not None and prev.sha256 == fp.sha256:
                self.repo.touch_document(key, fp)
                continue
            records, invalid = self.records(list(parse_bytes(key, data, path.suffix)))
            report.invalid += invalid
            self.repo.store_document(key, fp, records, invalid, now_ms())
            report.changed += 1
            log.info(
                "%s document %s: %d articles, %d invalid",
                "updated" if prev else "new",
                key,
                len(records),
                invalid,
            )
        for key in sorted(set(known) - seen):
            if any(_under(key, Path(r)) for r in report.missing_roots):
                continue
            self.repo.remove_document(key)
            report.removed += 1
            log.info("document %s is gone: its targets are retired", key)
        self.duplicates(report)
        return report

    def _unreadable(
        self, key: str, prev: Fingerprint | None, exc: OSError, report: ScanReport
    ) -> None:
        """Report a file that cannot be read; retried at every pass, logged once per cause.

        A file never read before is stored as one invalid record (so the
        `invalid_documents` gauge counts it) with a fingerprint no file has,
        so the next pass tries it again. One read before keeps its articles,
        as a vanished corpus path does.
        """
        report.unreadable.append(key)
        why = exc.strerror or str(exc)
        if self._failing.get(key) != why:
            log.error("cannot read %s: %s; will retry at every rescan", key, why)
        else:
            log.debug("still cannot read %s: %s", key, why)
        self._failing[key] = why
        if prev is None or prev.mtime_ns == UNREAD:
            self.repo.store_document(key, Fingerprint(UNREAD, -1, ""), [], 1, now_ms())

    def _read(self, path: str) -> tuple[Fingerprint, bytes] | None:
        try:
            st = Path(path).stat()
            if not stat.S_ISREG(st.st_mode):
                return None
            data = Path(path).read_bytes()
        except OSError:
            return None  # reported by the pass itself; retried at the next one
        return Fingerprint(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest()), data

    def _doc_ids(self, doc: duplicates.Shadowed) -> list[tuple[str, int]] | None:
        cached = self._ids.get(doc.path)
        if cached is not None and cached[0] == doc.sha256:
            return cached[1]
        read = self._read(doc.path)
        if read is None:
            return cached[1] if cached else None
        fp, data = read
        ids = [
            (d.id, d.line)
            for d in parse_bytes(doc.path, data, Path(doc.path).suffix)
            if isinstance(d, Document)
        ]
        self._ids[doc.path] = (fp.sha256, ids)
        return ids

    def _adopt(self, path: str, report: ScanReport) -> bool:
        """Store a document again: an article it shares lost its row with the other copy."""
        read = self._read(path)
        if read is None:
            return False
        fp, data = read
        records, invalid = self.records(list(parse_bytes(path, data, Path(path).suffix)))
        self.repo.store_document(path, fp, records, invalid, now_ms())
        report.changed += 1
        log.info("document %s stored again: another copy of its article was removed", path)
        return True

    def duplicates(self, report: ScanReport) -> None:
        """Mark `duplicate_url` on exactly the articles held twice; log the new ones."""
        engine = self.repo.engine
        shadowed = duplicates.shadowed_documents(engine)
        self._ids = {k: v for k, v in self._ids.items() if k in {d.path for d in shadowed}}
        held: dict[str, list[tuple[str, int]]] = {}
        for doc in shadowed:
            ids = self._doc_ids(doc)
            if ids is not None:
                held[doc.path] = ids
        owners = duplicates.article_sources(engine, (i for ids in held.values() for i, _ in ids))
        for path, ids in held.items():
            if any(i not in owners for i, _ in ids) and self._adopt(path, report):
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


def _under(path: str, root: Path) -> bool:
    p = Path(path)
    return p == root or root in p.parents
