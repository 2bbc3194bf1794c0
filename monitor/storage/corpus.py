"""The corpus as stored: documents, articles, their targets and links; orphans retired."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.sql.dml import Insert

from monitor.daemon.placement import url_bucket
from monitor.daemon.state import State
from monitor.storage import dialect
from monitor.storage.lean import execute_many
from monitor.storage.store import (
    ARTICLES,
    DOCUMENTS,
    DUE,
    LEASES,
    LINKS,
    SIGNATURES,
    TARGETS,
    Store,
    chunks,
    joined_codes,
)
from monitor.storage.values import ArticleRecord, Fingerprint

# Articles per transaction of a big document (~5 targets each): small enough that
# claims and result writes get the database's one writer between them.
STORE_BATCH = 500

# The longest target URL stored (UTF-8 bytes). PostgreSQL's unique index on
# targets.url refuses an entry over 2,704 bytes (a URL that does not compress),
# which failed the write of its whole batch; one limit on both databases keeps
# them giving one answer for one corpus.
MAX_URL_BYTES = 2_600


def too_long_to_index(text: str) -> bool:
    """True when `text` is too long for an indexed column: a target's URL, a
    document's path (see MAX_URL_BYTES)."""
    if len(text) * 4 <= MAX_URL_BYTES:  # four bytes a character at most: short enough
        return False
    return len(text.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES


url_too_long = too_long_to_index


def refused_record(exc: DBAPIError) -> bool:
    """A data or constraint error (one record the database will not take), not a
    database that is down or damaged: SQLSTATE classes 22, 23 and 54."""
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    return isinstance(exc, DataError | IntegrityError) or state[:2] in ("22", "23", "54")


def refusal(exc: DBAPIError) -> str:
    """The error's kind, never its text (which may quote the refused values)."""
    state = getattr(exc.orig, "sqlstate", None)
    name = type(exc.orig).__name__
    return f"{name}, SQLSTATE {state}" if state else name


class CorpusStore(Store):
    """Documents in, articles and targets kept in step."""

    def documents(self) -> dict[str, Fingerprint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(DOCUMENTS))
            return {r.path: Fingerprint(r.mtime_ns, r.size, r.sha256, r.recheck_at) for r in rows}

    def store_document(
        self,
        path: str,
        fingerprint: Fingerprint | Callable[[], Fingerprint],
        articles: Iterable[ArticleRecord],
        invalid: int | Callable[[], int],
        now: int,
    ) -> int:
        """Replace what the database knows of one corpus file; the articles stored.

        A big file is written STORE_BATCH articles per transaction, so the
        targets of its first articles can be claimed (and the database's one
        writer shared) while the rest is written; its fingerprint goes last,
        with the removal of the articles it no longer holds, so a daemon
        stopped midway reads the file again and stores it whole. A new file's
        row goes in with its first batch, with a fingerprint no file has
        (PENDING): cut short (a disk full, a kill), it is read again at the next
        pass, or retired if it was deleted meanwhile (its first batches had no
        row to retire them by, and were checked for ever). `articles`
        may be a generator (the file read and audited as it is stored: the
        first targets are due before the whole file is parsed); `fingerprint`
        and `invalid`, values or what gives them once `articles` is spent.
        """
        stored = 0
        keep: set[str] = set()
        batches = _batches(articles)
        last = next(batches, [])
        for batch in batches:  # one batch behind: the last goes with the fingerprint
            with self._write() as conn:
                if not stored:  # a new file's row, with a fingerprint no file has
                    conn.execute(_pending(self.dialect), _pending_row(path, now))
                self._store_round(conn, last, now)
            stored += len(last)
            keep.update(a.id for a in last)
            last = batch
        stored += len(last)
        keep.update(a.id for a in last)
        if not isinstance(fingerprint, Fingerprint):
            fingerprint = fingerprint()
        with self._write() as conn:
            row = {
                "path": path,
                "mtime_ns": fingerprint.mtime_ns,
                "size": fingerprint.size,
                "sha256": fingerprint.sha256,
                "articles": stored,
                "invalid": invalid if isinstance(invalid, int) else invalid(),
                "scanned_at": now,
                "recheck_at": fingerprint.recheck_at,
                "excluded": fingerprint.excluded,
            }
            conn.execute(
                dialect.upsert(self.dialect, DOCUMENTS, ["path"], [k for k in row if k != "path"]),
                row,
            )
            old: set[str] = set(
                conn.scalars(select(ARTICLES.c.id).where(ARTICLES.c.source == path))
            )
            if last:
                self._store_round(conn, last, now)
            self._drop_articles(conn, sorted(old - keep))
        return stored

    def active_targets(self) -> int:
        """How many targets are scheduled (an index-only count)."""
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count()).select_from(TARGETS).where(TARGETS.c.active.is_not(None))
                )
                or 0
            )

    def touch_document(self, path: str, fingerprint: Fingerprint) -> None:
        """Same content, new mtime: remember the mtime so the file is not re-hashed."""
        with self._write() as conn:
            conn.execute(
                update(DOCUMENTS)
                .where(DOCUMENTS.c.path == path)
                .values(mtime_ns=fingerprint.mtime_ns, size=fingerprint.size)
            )

    def mark_unreadable(self, path: str) -> None:
        """A document that can no longer be read keeps its articles, counts as one more
        invalid document, and gets a size no file has, so the next pass reads it again."""
        with self._write() as conn:
            conn.execute(
                update(DOCUMENTS)
                .where(DOCUMENTS.c.path == path, DOCUMENTS.c.size >= 0)
                .values(size=-1, invalid=DOCUMENTS.c.invalid + 1)
            )

    def remove_document(self, path: str) -> None:
        with self._write() as conn:
            ids: list[str] = list(
                conn.scalars(select(ARTICLES.c.id).where(ARTICLES.c.source == path))
            )
            self._drop_articles(conn, ids)
            conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.path == path))

    def _drop_articles(self, conn: Connection, ids: Sequence[str]) -> None:
        for chunk in chunks(ids):
            targets: list[int] = list(
                conn.scalars(select(LINKS.c.target_id).where(LINKS.c.article_id.in_(chunk)))
            )
            conn.execute(delete(LINKS).where(LINKS.c.article_id.in_(chunk)))
            conn.execute(delete(ARTICLES).where(ARTICLES.c.id.in_(chunk)))
            self._retire_orphans(conn, targets)

    def _retire_orphans(self, conn: Connection, target_ids: Sequence[int]) -> None:
        """Targets no article references any more: keep the history, stop checking."""
        linked = select(LINKS.c.target_id).where(LINKS.c.target_id == TARGETS.c.id).exists()
        for chunk in chunks(sorted(set(target_ids))):
            orphans: list[int] = list(
                conn.scalars(select(TARGETS.c.id).where(TARGETS.c.id.in_(chunk), ~linked))
            )
            if not orphans:
                continue
            conn.execute(delete(LEASES).where(LEASES.c.target_id.in_(orphans)))
            queued = conn.execute(
                dialect.lock_rows(
                    self.dialect,
                    select(TARGETS.c.next_due, TARGETS.c.id).where(
                        TARGETS.c.id.in_(orphans), TARGETS.c.next_due.is_not(None)
                    ),
                )
            ).all()
            conn.execute(
                update(TARGETS).where(TARGETS.c.id.in_(orphans)).values(next_due=None, active=None)
            )
            if queued:
                conn.execute(
                    delete(DUE).where(
                        tuple_(DUE.c.due, DUE.c.target_id).in_([tuple(r) for r in queued])
                    )
                )

    def _place_targets(
        self, conn: Connection, urls: dict[str, dict[str, object]], now: int
    ) -> dict[str, int]:
        """The ids of the targets at `urls` (given as inactive rows): the new ones
        inserted, each made due `now` and queued, retired ones re-activated."""
        if not urls:
            return {}
        target_of: dict[str, int] = {}
        rest: Sequence[str] = list(urls)
        top = _top_target_id(conn) if self.dialect == "sqlite" else None
        execute_many(conn, _insert_targets(self.dialect), list(urls.values()))
        if top is not None:
            # SQLite holds one writer, so the rows past the highest id before the
            # INSERT are its new rows: one range UPDATE activates them and gives
            # their ids, where an UPDATE by ids and a lookup by URL took 500 each
            # (issue 16, a first start: every target is new). The others, known
            # before, are looked up by URL as on PostgreSQL.
            fresh: Sequence[Any] = conn.exec_driver_sql(ACTIVATE_NEW_SQL, (now, top)).all()
            if fresh:
                due = [{"due": now, "target_id": i, "bucket": b} for i, _, b in fresh]
                execute_many(conn, DUE_INSERT, due)
                target_of.update((u, i) for i, u, _ in fresh)
                rest = [u for u in urls if u not in target_of]
        for chunk in chunks(rest):
            for r in conn.execute(
                select(TARGETS.c.id, TARGETS.c.url).where(TARGETS.c.url.in_(chunk))
            ):
                target_of[r.url] = r.id
        for chunk in chunks(sorted({target_of[u] for u in rest})):
            activated = conn.execute(
                update(TARGETS)
                .where(
                    dialect.in_ids(self.dialect, TARGETS.c.id, chunk),
                    TARGETS.c.next_due.is_(None),
                )
                .values(next_due=now, active=1)
                .returning(TARGETS.c.id, TARGETS.c.bucket)
            ).all()
            if activated:
                due = [{"due": now, "target_id": i, "bucket": b} for i, b in activated]
                execute_many(conn, DUE_INSERT, due)
        return target_of

    def _store_round(self, conn: Connection, arts: Sequence[ArticleRecord], now: int) -> None:
        """Articles with distinct ids: rows, signatures, targets (new ones due now,
        retired ones re-activated), links replaced, targets left unreferenced retired."""
        ids = [a.id for a in arts]
        prev = {
            r.id: (r.content_hash, r.signature_status)
            for r in conn.execute(
                select(ARTICLES.c.id, ARTICLES.c.content_hash, ARTICLES.c.signature_status).where(
                    ARTICLES.c.id.in_(ids)
                )
            )
        }
        rows = [
            {
                "id": art.id,
                "source": art.source,
                "line": art.line,
                "web_url": art.web_url,
                "title": art.title,
                "provider": art.provider,
                "content_hash": art.content_hash,
                "problems": joined_codes(art.problems),
                "signature_status": art.signature.status.value,
                "signature_fields": " ".join(art.signature.fields),
                "updated_at": now,
            }
            for art in arts
        ]
        execute_many(conn, _upsert_articles(self.dialect, tuple(rows[0])), rows)
        verified = [
            {
                "article_id": art.id,
                "at": now,
                "status": art.signature.status.value,
                "fields": " ".join(art.signature.fields),
                "kid": art.signature.kid,
                "envelope": art.signature.envelope,
            }
            for art in arts
            if prev.get(art.id) != (art.content_hash, art.signature.status.value)
        ]
        if verified:
            execute_many(conn, SIGNATURES_INSERT, verified)
        # targets: create the new ones (due now), re-activate retired ones
        urls: dict[str, dict[str, object]] = {}
        for art in arts:
            for url, ref in art.refs:
                if url not in urls:
                    urls[url] = {
                        "url": url,
                        "kind": ref.kind.value,
                        "provider": art.provider,
                        "state": State.UNKNOWN.value,
                        "fails": 0,
                        "succs": 0,
                        "next_due": None,  # activated below, with its queue row
                        "bucket": url_bucket(url),  # its host's placement in a cluster
                        "last_problems": "",
                    }
        target_of = self._place_targets(conn, urls, now)
        new_targets = set(target_of.values())
        old_targets: set[int] = set(
            conn.scalars(select(LINKS.c.target_id).where(LINKS.c.article_id.in_(ids)))
        )
        conn.execute(delete(LINKS).where(LINKS.c.article_id.in_(ids)))
        links: dict[tuple[str, str], dict[str, object]] = {}
        for art in arts:
            for url, ref in art.refs:
                links[(art.id, ref.path)] = {
                    "article_id": art.id,
                    "path": ref.path,
                    "target_id": target_of[url],
                    "kind": ref.kind.value,
                    "origin": ref.origin.value,
                    "exp_canonical": ref.expectation.canonical,
                    "exp_amphtml": ref.expectation.amphtml,
                    "exp_width": ref.expectation.width,
                    "exp_height": ref.expectation.height,
                    "exp_title": ref.expectation.title,
                    "exp_excerpt": ref.expectation.excerpt,
                }
        if links:
            execute_many(conn, LINKS_INSERT, list(links.values()))
        self._retire_orphans(conn, sorted(old_targets - new_targets))


# SQLite: the targets a corpus write inserted past the highest id before it, due now
ACTIVATE_NEW_SQL = (
    "UPDATE targets SET next_due = ?, active = 1 WHERE id > ? AND next_due IS NULL"
    " RETURNING id, url, bucket"
)


def _top_target_id(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT max(id) FROM targets").scalar() or 0)


# the statements of a corpus write, built once (storage/lean.py holds them by identity)
SIGNATURES_INSERT = SIGNATURES.insert()
DUE_INSERT = DUE.insert()
LINKS_INSERT = LINKS.insert()


@cache
def _upsert_articles(dialect_name: str, keys: tuple[str, ...]) -> Insert:
    return dialect.upsert(dialect_name, ARTICLES, ["id"], [k for k in keys if k != "id"])


@cache
def _insert_targets(dialect_name: str) -> Insert:
    return dialect.insert_ignore(dialect_name, TARGETS)


# the fingerprint of a new file whose store is under way (daemon/scan.py's UNREAD):
# never equal to a real file's, so a store cut short is read again
PENDING = Fingerprint(-1, -1, "")


@cache
def _pending(dialect_name: str) -> Insert:
    return dialect.insert_ignore(dialect_name, DOCUMENTS)  # a known file keeps its row


def _pending_row(path: str, now: int) -> dict[str, object]:
    return {
        "path": path,
        "mtime_ns": PENDING.mtime_ns,
        "size": PENDING.size,
        "sha256": PENDING.sha256,
        "articles": 0,
        "invalid": 0,
        "scanned_at": now,
        "recheck_at": None,
        "excluded": 0,
    }


def _batches(arts: Iterable[ArticleRecord]) -> Iterator[list[ArticleRecord]]:
    """The articles in order, STORE_BATCH at a time and no id twice in one batch:
    an id met again (a document holding one article twice) starts a new batch,
    so the last copy is stored last and wins, as it always did."""
    batch: list[ArticleRecord] = []
    ids: set[str] = set()
    for art in arts:
        if len(batch) >= STORE_BATCH or art.id in ids:
            yield batch
            batch, ids = [], set()
        batch.append(art)
        ids.add(art.id)
    if batch:
        yield batch
