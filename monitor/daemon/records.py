"""A corpus file's documents as the records the store takes (daemon/scan.py reads
the files, this turns what they hold into rows): the audit `check` uses, the
provider label of the metrics, the content hash that says a record changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from monitor import urls
from monitor.config import Settings
from monitor.corpus.article import Document, InvalidDocument
from monitor.observe.logs import redact_url
from monitor.rules.audit import AuditRules, audit_document
from monitor.secured.keys import KeyRing
from monitor.storage.corpus import MAX_URL_BYTES, url_too_long
from monitor.storage.repository import ArticleRecord

log = logging.getLogger("monitor.daemon.scan")  # the scan's messages, as before the split


def provider_of(doc: Document) -> str | None:
    """A bounded label for `provider_targets_down`: the provider's domain, else the host."""
    prov = doc.article.provider
    if prov is not None and prov.domain:
        return prov.domain.strip().lower()[:255] or None
    return urls.host_of(doc.article.webUrl)[:255] or None


def content_hash(raw: object) -> str:
    data = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def records_of(
    items: Iterable[Document | InvalidDocument],
    settings: Settings,
    keyring: KeyRing,
    now: datetime | None = None,
) -> tuple[list[ArticleRecord], Tally]:
    """The records to store for one file's documents, and what `iter_records` counted
    of them (how many are invalid, when their findings go stale), whole."""
    tally = Tally()
    return list(iter_records(items, settings, keyring, tally, now)), tally


# the invalid records of one file named in the log per read; the rest are counted and
# summed up in one line: 200,000 invalid lines logged 200,000 warnings at each change
INVALID_LOGGED = 20


class Tally:
    """The invalid documents `iter_records` met so far."""

    __slots__ = ("excluded", "invalid", "recheck_at", "unverified")

    def __init__(self) -> None:
        self.invalid = 0
        self.unverified = 0  # articles whose `secured` is a problem (logged as invalid ones)
        self.excluded = 0  # references `exclude_urls` left out of the stored records
        # the first instant (ms) a stored finding changes with the clock alone, or None
        # (Audit.changes_at): kept with the file, which is audited again from then on
        self.recheck_at: int | None = None

    def said(self, source: str, line: int | None, why: str, *args: object) -> None:
        """Count one invalid record; name it in the log if among a file's first ones."""
        self.invalid += 1
        if self.invalid <= INVALID_LOGGED:
            where = f"{source}:{line}" if line else source
            log.warning("invalid document %s: " + why, where, *args)

    def sum_up(self, source: str) -> None:
        """One line for the invalid records past the first ones, and one for the bad
        signatures, at the file's end."""
        if self.invalid > INVALID_LOGGED:
            log.warning(
                "invalid document %s: %d more invalid records not logged (%d in all; "
                "`article-monitor check --offline %s` lists them)",
                source,
                self.invalid - INVALID_LOGGED,
                self.invalid,
                source,
            )
        if self.unverified > INVALID_LOGGED:
            log.warning(
                "secured is not valid in %d more articles of %s, not logged (%d in all; "
                "`article-monitor verify` lists them)",
                self.unverified - INVALID_LOGGED,
                source,
                self.unverified,
            )


def iter_records(
    items: Iterable[Document | InvalidDocument],
    settings: Settings,
    keyring: KeyRing,
    tally: Tally,
    now: datetime | None = None,
) -> Iterator[ArticleRecord]:
    """The records to store for one file's documents, as they are read (the store
    writes the first ones while the rest of a big file is parsed); the invalid
    ones are counted in `tally`.

    Each document is audited by the audit `check` uses (its `secured` verified
    with `keyring`) at `now` (the scan's pass; default: the clock); an invalid
    one, or one with a URL longer than the database can index, is logged and
    counted instead. The first instant its findings change with the clock alone
    goes to `tally.recheck_at`.
    """
    now = now or datetime.now(UTC)
    rules = AuditRules.of(settings)
    source = None
    for item in items:
        source = item.source
        if isinstance(item, InvalidDocument):
            tally.said(item.source, item.line, "%s", item.error)
            continue
        audit = audit_document(item, keyring, now=now, rules=rules)
        longest = max((len(u) for u, _ in audit.refs if url_too_long(u)), default=0)
        if longest:  # the database cannot index it: this record alone is invalid
            tally.said(
                item.source,
                item.line,
                "a URL of %d characters is longer than the %d bytes the database can store",
                longest,
                MAX_URL_BYTES,
            )
            continue
        tally.excluded += audit.excluded
        if audit.changes_at is not None:
            at = _ms(audit.changes_at)
            if tally.recheck_at is None or at < tally.recheck_at:
                tally.recheck_at = at
        sig = audit.signature
        if sig.status.is_problem:
            tally.unverified += 1
        if sig.status.is_problem and tally.unverified <= INVALID_LOGGED:
            log.warning(
                "secured is %s",
                sig.status.value,
                extra={"ctx": {"article": item.id, "source": item.source}},
            )
        yield ArticleRecord(
            id=item.id,
            source=item.source,
            line=item.line,
            web_url=redact_url(item.article.webUrl),
            title=item.article.title,
            provider=provider_of(item),
            content_hash=content_hash(item.raw),
            problems=audit.codes,
            signature=sig,
            refs=audit.refs,
        )
    if source is not None:
        tally.sum_up(source)


def _ms(moment: datetime) -> int:
    """`moment` in ms since the epoch, rounded up: the file is read again at or after it."""
    return -(-(moment - _EPOCH) // _MS)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
