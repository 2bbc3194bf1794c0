"""One repository interface over SQLite and PostgreSQL (SQLAlchemy Core).

Every write is one short transaction that starts with a write statement,
so SQLite never has to upgrade a read lock (the source of spurious "database
is locked" errors). Dialect-specific SQL lives in `dialect.py`.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)

from monitor.daemon.state import State, TargetState
from monitor.storage import dialect
from monitor.storage.engine import WRITE_OPTION
from monitor.storage.tables import OUTCOME_BY_CODE, metadata
from monitor.targets import TargetRef
from monitor.vocabulary import Expectation, Kind, Origin, SignatureResult, SignatureStatus

DOCUMENTS: Table = metadata.tables["documents"]
ARTICLES: Table = metadata.tables["articles"]
TARGETS: Table = metadata.tables["targets"]
DUE: Table = metadata.tables["due_queue"]
LEASES: Table = metadata.tables["leases"]
LINKS: Table = metadata.tables["article_targets"]
RESULTS: Table = metadata.tables["check_results"]
TRANSITIONS: Table = metadata.tables["transitions"]
SIGNATURES: Table = metadata.tables["signature_verifications"]
ROLLUPS: Table = metadata.tables["rollups"]
META: Table = metadata.tables["meta"]

DAY_MS = 86_400_000
LAST_CHECK_KEY = "last_check_ms"
_CHUNK = 500


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _codes(codes: Iterable[str]) -> str:
    return " ".join(sorted(set(codes)))


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the rescan compares to tell a changed file (sha256 only when mtime/size moved)."""

    mtime_ns: int
    size: int
    sha256: str


@dataclass(slots=True)
class ArticleRecord:
    """One valid document, ready to store: static findings and signature already known."""

    id: str
    source: str
    line: int
    web_url: str
    provider: str | None
    content_hash: str
    problems: list[str]
    signature: SignatureResult
    refs: list[tuple[str, TargetRef]]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A target claimed for checking: the claim (`lease`) and what the check needs."""

    id: int
    url: str
    kind: Kind
    state: TargetState
    lease: int
    refs: tuple[TargetRef, ...]


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """A finished check, as the writer stores it."""

    target_id: int
    lease: int
    checked_at: int
    outcome: int  # OUTCOME_CODES
    outcome_name: str
    http_status: int | None
    latency_ms: int | None
    problems: tuple[str, ...]
    before: TargetState
    after: TargetState
    next_due: int


@dataclass(slots=True)
class Snapshot:
    """What the metrics gauges show; read at scrape time."""

    targets: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, state) -> n
    problems: dict[str, int] = field(default_factory=dict)
    signatures: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    provider_down: dict[str, int] = field(default_factory=dict)
    oldest_due_ms: int | None = None
    last_check_ms: int | None = None
    invalid_documents: int = 0


_KIND = {k.value: k for k in Kind}
_STATE = {s.value: s for s in State}
_ORIGIN = {o.value: o for o in Origin}
_LINK_COLUMNS = (
    LINKS.c.article_id,
    LINKS.c.path,
    LINKS.c.kind.label("link_kind"),
    LINKS.c.origin,
    LINKS.c.exp_canonical,
    LINKS.c.exp_amphtml,
    LINKS.c.exp_width,
    LINKS.c.exp_height,
)


# ---------------------------------------------------------------- repository


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (on SQLite: BEGIN IMMEDIATE, so waits use the busy timeout)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    # -- health

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def checkpoint(self) -> None:
        """SQLite: copy the WAL back into the database file without blocking anyone."""
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    # -- claims and results

    def claim_due(self, now: int, limit: int, lease_ms: int) -> list[Claimed]:
        """Take up to `limit` targets due at `now`; each stays ours until now+lease_ms.

        Expired leases (a checker that died) first, then the front of the due
        queue; each is select FOR UPDATE SKIP LOCKED (PostgreSQL) -> move to
        `leases` at the lease end -> return. Only narrow queue rows are
        written; `targets` is read.
        """
        if limit <= 0:
            return []
        lease = now + lease_ms
        with self._write() as conn:
            ids = self._take(conn, LEASES, LEASES.c.until, now, limit, lease)
            if len(ids) < limit:
                fresh = self._take(conn, DUE, DUE.c.due, now, limit - len(ids), lease)
                if fresh:
                    conn.execute(LEASES.insert(), [{"until": lease, "target_id": i} for i in fresh])
                ids += fresh
            taken = set(ids)
            found: dict[int, tuple[Any, ...]] = {}
            refs: dict[int, list[TargetRef]] = defaultdict(list)
            # this claim's leases joined to their targets and links: no IN lists to expand
            # (another claimer's leases with the same end are filtered out by `taken`)
            rows: Any = conn.execute(
                select(
                    TARGETS.c.id,
                    TARGETS.c.url,
                    TARGETS.c.kind,
                    TARGETS.c.state,
                    TARGETS.c.fails,
                    TARGETS.c.succs,
                    *_LINK_COLUMNS,
                )
                .select_from(
                    LEASES.join(TARGETS, TARGETS.c.id == LEASES.c.target_id).outerjoin(
                        LINKS, LINKS.c.target_id == LEASES.c.target_id
                    )
                )
                .where(LEASES.c.until == lease, TARGETS.c.next_due.is_not(None))
            )
            for tid, *target, art, path, kind, origin, canon, amp, width, height in rows:
                if tid not in taken:
                    continue
                found[tid] = tuple(target)
                if art is not None:
                    refs[tid].append(
                        TargetRef(
                            article_id=art,
                            kind=_KIND[kind],
                            origin=_ORIGIN[origin],
                            expectation=Expectation(
                                canonical=canon, amphtml=amp, width=width, height=height
                            ),
                            path=path,
                        )
                    )
            # a lease of a target retired meanwhile (PostgreSQL race): drop it
            stale = sorted(taken - found.keys())
            for chunk in _chunks(stale):
                conn.execute(
                    delete(LEASES).where(LEASES.c.until == lease, LEASES.c.target_id.in_(chunk))
                )
        return [
            Claimed(
                id=tid,
                url=url,
                kind=_KIND[kind],
                state=TargetState(_STATE[state], fails, succs),
                lease=lease,
                refs=tuple(refs.get(tid, ())),
            )
            for tid, (url, kind, state, fails, succs) in found.items()
        ]

    def _take(
        self, conn: Connection, table: Table, key: Any, now: int, limit: int, lease: int
    ) -> list[int]:
        """The front of a queue table up to `now`: leases are moved to `lease`, due rows
        deleted (the caller leases them). One statement, procrastinate's shape."""
        ident = tuple_(key, table.c.target_id)
        candidates = dialect.lock_candidates(
            self.dialect,
            select(key, table.c.target_id)
            .where(key <= now)
            .order_by(key, table.c.target_id)
            .limit(limit),
        )
        stmt: Any
        if table is LEASES:
            stmt = update(LEASES).where(ident.in_(candidates)).values(until=lease)
        else:
            stmt = delete(table).where(ident.in_(candidates))
        return list(conn.scalars(stmt.returning(table.c.target_id)))

    def record(self, records: Sequence[CheckRecord]) -> None:
        """Store a batch of finished checks in one transaction."""
        if not records:
            return
        results = [
            {
                "target_id": r.target_id,
                "checked_at": r.checked_at,
                "outcome": r.outcome,
                "http_status": r.http_status,
                "latency_ms": r.latency_ms,
                "problems": _codes(r.problems) or None,
            }
            for r in records
        ]
        updates = [
            {
                "b_id": r.target_id,
                "b_lease": r.lease,
                "state": r.after.state.value,
                "fails": r.after.fails,
                "succs": r.after.succs,
                "next_due": r.next_due,
                "last_checked_at": r.checked_at,
                "last_outcome": r.outcome_name,
                "last_status": r.http_status,
                "last_problems": _codes(r.problems),
            }
            for r in records
        ]
        transitions = [
            {
                "target_id": r.target_id,
                "at": r.checked_at,
                "from_state": r.before.state.value,
                "to_state": r.after.state.value,
                "outcome": r.outcome_name,
                "problems": _codes(r.problems),
            }
            for r in records
            if r.before.state is not r.after.state
        ]
        target_update = (
            update(TARGETS)
            .where(TARGETS.c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                fails=bindparam("fails"),
                succs=bindparam("succs"),
                next_due=bindparam("next_due"),
                last_checked_at=bindparam("last_checked_at"),
                last_outcome=bindparam("last_outcome"),
                last_status=bindparam("last_status"),
                last_problems=bindparam("last_problems"),
            )
        )
        with self._write() as conn:
            conn.execute(dialect.insert_ignore(self.dialect, RESULTS), results)
            held = self._end_leases(conn, [(r.target_id, r.lease) for r in records])
            mine = [u for u in updates if u["b_id"] in held]
            if mine:
                conn.execute(target_update, mine)
                conn.execute(
                    DUE.insert(), [{"due": u["next_due"], "target_id": u["b_id"]} for u in mine]
                )
            trans = [t for t in transitions if t["target_id"] in held]
            if trans:
                conn.execute(TRANSITIONS.insert(), trans)
            conn.execute(
                dialect.upsert(self.dialect, META, ["key"], ["value"]),
                {"key": LAST_CHECK_KEY, "value": str(max(r.checked_at for r in records))},
            )

    def _end_leases(self, conn: Connection, claims: Sequence[tuple[int, int]]) -> set[int]:
        """Delete these leases; the ids of those still held (not expired and re-claimed)
        whose target is still active. Leases before targets: the lock order everywhere."""
        held: set[int] = set()
        by_lease: dict[int, list[int]] = defaultdict(list)
        for i, lease in claims:
            by_lease[lease].append(i)
        # one lease end per claim, so few groups, each a primary-key range
        for lease, ids in by_lease.items():
            for chunk in _chunks(sorted(ids)):
                held.update(
                    conn.scalars(
                        delete(LEASES)
                        .where(LEASES.c.until == lease, LEASES.c.target_id.in_(chunk))
                        .returning(LEASES.c.target_id)
                    )
                )
        active: set[int] = set()
        for some in _chunks(sorted(held)):
            active.update(
                conn.scalars(
                    dialect.lock_rows(
                        self.dialect,
                        select(TARGETS.c.id).where(
                            TARGETS.c.id.in_(some), TARGETS.c.next_due.is_not(None)
                        ),
                    )
                )
            )
        return active

    def release(self, claims: Sequence[tuple[int, int]], now: int) -> None:
        """Give back claimed targets that were not checked (shutdown): due again now."""
        if not claims:
            return
        with self._write() as conn:
            held = sorted(self._end_leases(conn, claims))
            for chunk in _chunks(held):
                conn.execute(update(TARGETS).where(TARGETS.c.id.in_(chunk)).values(next_due=now))
            if held:
                conn.execute(DUE.insert(), [{"due": now, "target_id": i} for i in held])

    # -- corpus

    def documents(self) -> dict[str, Fingerprint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(DOCUMENTS))
            return {r.path: Fingerprint(r.mtime_ns, r.size, r.sha256) for r in rows}

    def store_document(
        self,
        path: str,
        fingerprint: Fingerprint,
        articles: Sequence[ArticleRecord],
        invalid: int,
        now: int,
    ) -> None:
        """Replace what the database knows of one corpus file, in one transaction."""
        with self._write() as conn:
            row = {
                "path": path,
                "mtime_ns": fingerprint.mtime_ns,
                "size": fingerprint.size,
                "sha256": fingerprint.sha256,
                "articles": len(articles),
                "invalid": invalid,
                "scanned_at": now,
            }
            conn.execute(
                dialect.upsert(self.dialect, DOCUMENTS, ["path"], [k for k in row if k != "path"]),
                row,
            )
            keep = {a.id for a in articles}
            old: set[str] = set(
                conn.scalars(select(ARTICLES.c.id).where(ARTICLES.c.source == path))
            )
            self._drop_articles(conn, sorted(old - keep))
            for art in articles:
                self._store_article(conn, art, now)

    def touch_document(self, path: str, fingerprint: Fingerprint) -> None:
        """Same content, new mtime: remember the mtime so the file is not re-hashed."""
        with self._write() as conn:
            conn.execute(
                update(DOCUMENTS)
                .where(DOCUMENTS.c.path == path)
                .values(mtime_ns=fingerprint.mtime_ns, size=fingerprint.size)
            )

    def remove_document(self, path: str) -> None:
        with self._write() as conn:
            ids: list[str] = list(
                conn.scalars(select(ARTICLES.c.id).where(ARTICLES.c.source == path))
            )
            self._drop_articles(conn, ids)
            conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.path == path))

    def _drop_articles(self, conn: Connection, ids: Sequence[str]) -> None:
        for chunk in _chunks(ids):
            targets: list[int] = list(
                conn.scalars(select(LINKS.c.target_id).where(LINKS.c.article_id.in_(chunk)))
            )
            conn.execute(delete(LINKS).where(LINKS.c.article_id.in_(chunk)))
            conn.execute(delete(ARTICLES).where(ARTICLES.c.id.in_(chunk)))
            self._retire_orphans(conn, targets)

    def _retire_orphans(self, conn: Connection, target_ids: Sequence[int]) -> None:
        """Targets no article references any more: keep the history, stop checking."""
        linked = select(LINKS.c.target_id).where(LINKS.c.target_id == TARGETS.c.id).exists()
        for chunk in _chunks(sorted(set(target_ids))):
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
                update(TARGETS)
                .where(TARGETS.c.id.in_(orphans))
                .values(next_due=None, lease_until=None)
            )
            if queued:
                conn.execute(
                    delete(DUE).where(
                        tuple_(DUE.c.due, DUE.c.target_id).in_([tuple(r) for r in queued])
                    )
                )

    def _store_article(self, conn: Connection, art: ArticleRecord, now: int) -> None:
        prev = conn.execute(
            select(ARTICLES.c.content_hash, ARTICLES.c.signature_status).where(
                ARTICLES.c.id == art.id
            )
        ).first()
        sig = art.signature
        row = {
            "id": art.id,
            "source": art.source,
            "line": art.line,
            "web_url": art.web_url,
            "provider": art.provider,
            "content_hash": art.content_hash,
            "problems": _codes(art.problems),
            "signature_status": sig.status.value,
            "signature_fields": " ".join(sig.fields),
            "updated_at": now,
        }
        conn.execute(
            dialect.upsert(self.dialect, ARTICLES, ["id"], [k for k in row if k != "id"]), row
        )
        if (
            prev is None
            or prev.content_hash != art.content_hash
            or prev.signature_status != (sig.status.value)
        ):
            conn.execute(
                SIGNATURES.insert(),
                {
                    "article_id": art.id,
                    "at": now,
                    "status": sig.status.value,
                    "fields": " ".join(sig.fields),
                    "kid": sig.kid,
                    "envelope": sig.envelope,
                },
            )
        # targets: create the new ones (due now), re-activate retired ones
        urls: dict[str, TargetRef] = {}
        for url, ref in art.refs:
            urls.setdefault(url, ref)
        if urls:
            conn.execute(
                dialect.insert_ignore(self.dialect, TARGETS),
                [
                    {
                        "url": url,
                        "kind": ref.kind.value,
                        "provider": art.provider,
                        "state": State.UNKNOWN.value,
                        "fails": 0,
                        "succs": 0,
                        "next_due": None,  # activated below, with its queue row
                        "last_problems": "",
                    }
                    for url, ref in urls.items()
                ],
            )
        ids: dict[str, int] = {}
        for chunk in _chunks(list(urls)):
            for r in conn.execute(
                select(TARGETS.c.id, TARGETS.c.url).where(TARGETS.c.url.in_(chunk))
            ):
                ids[r.url] = r.id
        for chunk in _chunks(sorted(ids.values())):
            activated = list(
                conn.scalars(
                    update(TARGETS)
                    .where(TARGETS.c.id.in_(chunk), TARGETS.c.next_due.is_(None))
                    .values(next_due=now)
                    .returning(TARGETS.c.id)
                )
            )
            if activated:
                conn.execute(DUE.insert(), [{"due": now, "target_id": i} for i in activated])
        old_targets: list[int] = list(
            conn.scalars(select(LINKS.c.target_id).where(LINKS.c.article_id == art.id))
        )
        conn.execute(delete(LINKS).where(LINKS.c.article_id == art.id))
        links = {}
        for url, ref in art.refs:
            links[ref.path] = {
                "article_id": art.id,
                "path": ref.path,
                "target_id": ids[url],
                "kind": ref.kind.value,
                "origin": ref.origin.value,
                "exp_canonical": ref.expectation.canonical,
                "exp_amphtml": ref.expectation.amphtml,
                "exp_width": ref.expectation.width,
                "exp_height": ref.expectation.height,
            }
        if links:
            conn.execute(LINKS.insert(), list(links.values()))
        self._retire_orphans(conn, [t for t in old_targets if t not in set(ids.values())])

    # -- metrics

    def snapshot(self) -> Snapshot:
        """The gauges' numbers: every query an index-only scan or a seek (see tables.py),
        ~0.2 s at 1M targets; the daemon takes it in the background, never per scrape."""
        snap = Snapshot()
        active = TARGETS.c.next_due.is_not(None)
        with self.engine.connect() as conn:
            row: Any
            for row in conn.execute(
                select(TARGETS.c.state, TARGETS.c.kind, func.count())
                .where(active)
                .group_by(TARGETS.c.state, TARGETS.c.kind)
            ):
                snap.targets[(row[1], row[0])] = row[2]
            for row in conn.execute(
                select(TARGETS.c.provider, func.count())
                .where(active, TARGETS.c.state == State.DOWN.value)
                .group_by(TARGETS.c.provider)
            ):
                snap.provider_down[row[0] or ""] = snap.provider_down.get(row[0] or "", 0) + row[1]
            problems: Counter[str] = Counter()
            for row in conn.execute(
                select(TARGETS.c.last_problems, func.count())
                .where(TARGETS.c.last_problems != "", active)
                .group_by(TARGETS.c.last_problems)
            ):
                for code in row[0].split():
                    problems[code] += row[1]
            for row in conn.execute(
                select(ARTICLES.c.problems, func.count())
                .where(ARTICLES.c.problems != "")
                .group_by(ARTICLES.c.problems)
            ):
                for code in row[0].split():
                    problems[code] += row[1]
            snap.problems = dict(problems)
            for row in conn.execute(
                select(ARTICLES.c.signature_status, func.count()).group_by(
                    ARTICLES.c.signature_status
                )
            ):
                snap.signatures[row[0]] = row[1]
            snap.articles = sum(snap.signatures.values())
            dues = [
                conn.scalar(select(func.min(DUE.c.due))),
                conn.scalar(select(func.min(LEASES.c.until))),
            ]
            snap.oldest_due_ms = min((d for d in dues if d is not None), default=None)
            last = conn.scalar(select(META.c.value).where(META.c.key == LAST_CHECK_KEY))
            snap.last_check_ms = None if last is None else int(last)
            snap.invalid_documents = int(
                conn.scalar(select(func.coalesce(func.sum(DOCUMENTS.c.invalid), 0))) or 0
            )
        return snap

    # -- retention and rollups

    def max_target_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.max(TARGETS.c.id))) or 0)

    def purge_results(self, cutoff_ms: int, *, chunk: int = 5000) -> int:
        """Delete raw results older than the cutoff, a range of targets per transaction
        so the writer is never held up for long."""
        deleted = 0
        top = self.max_target_id()
        for lo in range(0, top + 1, chunk):
            with self._write() as conn:
                res = conn.execute(
                    delete(RESULTS).where(
                        RESULTS.c.target_id >= lo,
                        RESULTS.c.target_id < lo + chunk,
                        RESULTS.c.checked_at < cutoff_ms,
                    )
                )
                deleted += max(res.rowcount, 0)
        return deleted

    def purge_rollups(self, cutoff_day: int) -> int:
        with self._write() as conn:
            return max(conn.execute(delete(ROLLUPS).where(ROLLUPS.c.day < cutoff_day)).rowcount, 0)

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(META.c.value).where(META.c.key == key))
            return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                dialect.upsert(self.dialect, META, ["key"], ["value"]),
                {"key": key, "value": value},
            )

    def oldest_result_ms(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(func.min(RESULTS.c.checked_at)))
            return None if value is None else int(value)

    def day_results(self, day: int, lo: int, hi: int) -> dict[int, list[tuple[int, int | None]]]:
        """(outcome code, latency) of each target in [lo, hi) on one UTC day."""
        out: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
        with self.engine.connect() as conn:
            for r in conn.execute(
                select(RESULTS.c.target_id, RESULTS.c.outcome, RESULTS.c.latency_ms).where(
                    RESULTS.c.target_id >= lo,
                    RESULTS.c.target_id < hi,
                    RESULTS.c.checked_at >= day * DAY_MS,
                    RESULTS.c.checked_at < (day + 1) * DAY_MS,
                )
            ):
                out[r.target_id].append((r.outcome, r.latency_ms))
        return out

    def store_rollups(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self._write() as conn:
                conn.execute(
                    dialect.upsert(
                        self.dialect,
                        ROLLUPS,
                        ["target_id", "day"],
                        ["checks", "counts", "p50_ms", "p95_ms"],
                    ),
                    list(rows),
                )

    # -- reading for `status` and `history`

    def recent_transitions(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TRANSITIONS, TARGETS.c.url, TARGETS.c.kind)
                .join(TARGETS, TARGETS.c.id == TRANSITIONS.c.target_id)
                .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc())
                .limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    def worst_providers(self, limit: int = 10) -> list[dict[str, Any]]:
        down = func.sum(func.cast(TARGETS.c.state == State.DOWN.value, TARGETS.c.fails.type))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TARGETS.c.provider, func.count().label("targets"), down.label("down"))
                .where(TARGETS.c.next_due.is_not(None))
                .group_by(TARGETS.c.provider)
                .having(down > 0)
                .order_by(down.desc(), TARGETS.c.provider)
                .limit(limit)
            )
            return [
                {"provider": r.provider or "", "targets": r.targets, "down": int(r.down)}
                for r in rows
            ]

    def signature_problems(self, limit: int = 50) -> list[dict[str, Any]]:
        bad = [s.value for s in SignatureStatus if s.is_problem]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ARTICLES.c.id,
                    ARTICLES.c.web_url,
                    ARTICLES.c.source,
                    ARTICLES.c.signature_status,
                    ARTICLES.c.signature_fields,
                )
                .where(ARTICLES.c.signature_status.in_(bad))
                .order_by(ARTICLES.c.source, ARTICLES.c.line)
                .limit(limit)
            )
            return [
                {
                    "article": r.id,
                    "webUrl": r.web_url,
                    "source": r.source,
                    "status": r.signature_status,
                    "fields": r.signature_fields.split(),
                }
                for r in rows
            ]

    def find_targets(self, query: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Resolve a target URL, a target id, an article id or an article's webUrl."""
        with self.engine.connect() as conn:
            art = conn.execute(
                select(ARTICLES).where((ARTICLES.c.id == query) | (ARTICLES.c.web_url == query))
            ).first()
            if art is not None:
                rows = conn.execute(
                    select(TARGETS, LINKS.c.path, LINKS.c.origin)
                    .join(LINKS, LINKS.c.target_id == TARGETS.c.id)
                    .where(LINKS.c.article_id == art.id)
                    .order_by(LINKS.c.path)
                )
                return dict(art._mapping), [dict(r._mapping) for r in rows]
            cond = TARGETS.c.url == query
            if query.isdigit():
                cond = cond | (TARGETS.c.id == int(query))
            rows = conn.execute(select(TARGETS).where(cond))
            return None, [dict(r._mapping) for r in rows]

    def target_history(
        self, target_id: int, *, transitions: int = 50, results: int = 20
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            trans = conn.execute(
                select(TRANSITIONS)
                .where(TRANSITIONS.c.target_id == target_id)
                .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc())
                .limit(transitions)
            )
            res = conn.execute(
                select(RESULTS)
                .where(RESULTS.c.target_id == target_id)
                .order_by(RESULTS.c.checked_at.desc())
                .limit(results)
            )
            trans_rows = [dict(r._mapping) for r in trans]
            result_rows = []
            for r in res:
                row = dict(r._mapping)
                row["outcome"] = OUTCOME_BY_CODE[row["outcome"]].value
                result_rows.append(row)
            return trans_rows, result_rows
