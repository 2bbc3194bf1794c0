"""The due queue: claim due targets under a lease, record results, release claims."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.sql.dml import Insert

from monitor.daemon.placement import host_bucket
from monitor.daemon.state import TargetState
from monitor.storage import dialect
from monitor.storage.lean import execute_many
from monitor.storage.pages import record_marks
from monitor.storage.queue_sql import (
    active_buckets,
    claimed_rows,
    due_keys,
    due_rows_at,
    end_lease,
    keys_a_statement,
    last_check,
    leased,
    take_statement,
)
from monitor.storage.store import (
    DUE,
    KIND_OF,
    LAST_CHECK_KEY,
    LEASES,
    ORIGIN_OF,
    RESULTS,
    STATE_OF,
    TARGETS,
    TRANSITIONS,
    Store,
    chunks,
    joined_codes,
)
from monitor.storage.values import CheckRecord, Claimed
from monitor.targets import TargetRef
from monitor.urls import url_host_key
from monitor.vocabulary import Expectation


def _target_update(columns: tuple[str, ...]) -> Any:
    """UPDATE targets SET each of `columns` from its bind parameter WHERE id = :b_id."""
    return (
        update(TARGETS)
        .where(TARGETS.c.id == bindparam("b_id"))
        .values({column: bindparam(column) for column in columns})
    )


# the columns a recheck may move without touching what the status indexes hold
_RECHECK = ("fails", "succs", "next_due", "last_checked_at", "last_status")
# the statements of a result write, built once (storage/lean.py holds them by identity).
# The full one also sets `active`: a scheduled target is active, and this mends a row
# that a member of the previous version scheduled without the flag (free here, as
# this update rewrites the status indexes anyway).
TARGET_UPDATE = _target_update(
    ("state", *_RECHECK, "last_outcome", "last_problems", "active", "last_error")
)
# A recheck that left the target's state, outcome and problems (and its flag) as
# they were sets only the columns no index holds: the row alone is written, where
# the full update rewrote the status indexes too (116 against 56 µs of the
# writer's CPU a result at 100,000 targets in random order: migration 0010,
# bench/result_writes.py).
TARGET_RECHECK = _target_update(_RECHECK)
# ... and one whose error changed alone (no index holds `last_error`): a target that
# stays down but fails otherwise (refused, then reset). An unchanged error (most
# rechecks: none, or the same again) is not written, so TARGET_RECHECK is as it was.
TARGET_RECHECK_ERROR = _target_update((*_RECHECK, "last_error"))
# what a result write compares: (state, last outcome, last problems, active) as stored
_Indexed = tuple[str, str | None, str, int | None]
DUE_INSERT = DUE.insert()
# ms: put_off's wait for a row another transaction holds (PostgreSQL's lock_timeout)
PUT_OFF_LOCK_WAIT_MS = 1_000
# ms: put_off leaves the rows due this close to a hold's end: those the stop gave
# back to the end a moment before, its end read then (each reading rounds to the
# ms: a row 1 ms early was moved again, and `run --once` counted it twice)
PUT_OFF_SLACK_MS = 100
LEASES_INSERT = LEASES.insert()
TRANSITIONS_INSERT = TRANSITIONS.insert()


@cache
def _insert_results(dialect_name: str) -> Insert:
    return dialect.insert_ignore(dialect_name, RESULTS)


def _host_key_of(url: str, known: dict[str, str | None]) -> str | None:
    """`url_host_key(url)`, found in `known` by the URL's start up to the first
    `/` after its first `//` (the netloc is whole in it, as `urlsplit` reads
    it, whatever the scheme's length): parsing each of 200,000 URLs of one
    host was half of a put_off's time. A URL with a control character
    (`urlsplit` drops tabs and line breaks anywhere) is parsed whole."""
    slashes = url.find("//")  # none in a scheme: the first is the netloc's, if any
    cut = url.find("/", slashes + 2) if slashes >= 0 else -1
    start = url[:cut] if cut >= 0 and url.isprintable() else url
    if start in known:
        return known[start]
    key = known[start] = url_host_key(start)
    return key


class QueueStore(Store):
    """Claims and results."""

    def claim_due(
        self, now: int, limit: int, lease_ms: int, buckets: frozenset[int] | None = None
    ) -> list[Claimed]:
        """Take up to `limit` targets due at `now`; each stays ours until now+lease_ms.
        With `buckets` (a cluster member's share), only targets whose host is in them.

        Expired leases (a checker that died) first, then the front of the due
        queue; each is select FOR UPDATE SKIP LOCKED (PostgreSQL) -> move to
        `leases` at the lease end -> return. Only narrow queue rows are
        written; `targets` is read.
        """
        if limit <= 0:
            return []
        lease = now + lease_ms
        with self._write() as conn:
            ids = self._take(conn, LEASES, LEASES.c.until, now, limit, buckets)
            moved = set(ids)  # expired leases, taken again as they are
            if ids:
                execute_many(conn, LEASES_INSERT, [{"until": lease, "target_id": i} for i in ids])
            wanted: set[tuple[int, int]] = set()  # (target, due) of the due rows taken
            if len(ids) < limit:
                taken_due = self._take(conn, DUE, DUE.c.due, now, limit - len(ids), buckets)
                wanted = {(tid, due) for due, tid in taken_due if tid not in moved}
                fresh = self._unleased(conn, {tid for tid, _ in wanted})
                if fresh:
                    leases = [{"until": lease, "target_id": i} for i in fresh]
                    execute_many(conn, LEASES_INSERT, leases)
                ids += fresh
            taken = set(ids)
            found: dict[int, tuple[Any, ...]] = {}
            refs: dict[int, list[TargetRef]] = defaultdict(list)
            # this claim's leases joined to their targets and links, by lease end and id:
            # by the end alone it read back every lease held with it (`run --once`
            # claims with one cutoff: the checks in flight, each claim again)
            rows: Any = conn.execute(
                claimed_rows(self.dialect),
                {"lease": lease, "ids": dialect.ids_value(self.dialect, sorted(taken))},
            ).all()  # one fetch: iterating a result fetches row by row
            for (
                tid,
                next_due,
                *target,
                art,
                path,
                kind,
                origin,
                canon,
                amp,
                width,
                height,
                title,
                excerpt,
            ) in rows:
                if tid not in taken:
                    continue
                if tid not in moved and (tid, next_due) not in wanted:
                    # a stray due row (not the one targets.next_due names): taking it
                    # deleted it, and its lease goes below with the stale ones
                    continue
                found[tid] = tuple(target)
                if art is not None:
                    # positional: a claim builds one per article reference, and keyword
                    # calls of these frozen dataclasses cost more (fields in their order)
                    refs[tid].append(
                        TargetRef(
                            art,
                            KIND_OF[kind],
                            ORIGIN_OF[origin],
                            Expectation(canon, amp, width, height, title, excerpt),
                            path,
                        )
                    )
            # a lease of a target retired meanwhile (PostgreSQL race), or of a stray
            # due row: drop it
            stale = sorted(taken - found.keys())
            for chunk in chunks(stale):
                conn.execute(
                    delete(LEASES).where(LEASES.c.until == lease, LEASES.c.target_id.in_(chunk))
                )
        none: tuple[TargetRef, ...] = ()
        return [
            Claimed(
                tid,
                url,
                KIND_OF[kind],
                TargetState(STATE_OF[state], fails, succs),
                lease,
                tuple(refs[tid]) if tid in refs else none,
            )
            for tid, (url, kind, state, fails, succs) in found.items()
        ]

    def _take(
        self,
        conn: Connection,
        table: Table,
        key: Any,
        now: int,
        limit: int,
        buckets: frozenset[int] | None,
    ) -> list[Any]:
        """The front of a queue table up to `now`, deleted (the caller leases it again).
        One statement, procrastinate's shape. Expired leases come back as distinct
        target ids (a delete and an insert, not an UPDATE of the key, so a target
        leased twice by an older bug collapses to one lease instead of failing the
        claim); due rows as (due, target_id), for `_queued` to check."""
        if buckets is None:
            stmt = take_statement(self.dialect, table.name)
            params = {"now": now, "lim": limit}
            if table is LEASES:
                return sorted(set(conn.scalars(stmt, params).all()))
            return [tuple(r) for r in conn.execute(stmt, params).all()]
        ident = tuple_(key, table.c.target_id)
        front = select(key, table.c.target_id).where(key <= now)
        if buckets is not None and table is DUE:  # the front, skipping others' hosts
            front = front.where(func.coalesce(DUE.c.bucket, 0).in_(sorted(buckets)))
        elif buckets is not None:  # leases are few: their targets say the bucket
            front = front.join(TARGETS, TARGETS.c.id == table.c.target_id).where(
                func.coalesce(TARGETS.c.bucket, 0).in_(sorted(buckets))
            )
        front = front.order_by(key, table.c.target_id).limit(limit)
        candidates: Any
        if buckets is not None and self.dialect == "postgresql":
            candidates = front.with_for_update(skip_locked=True, of=table)
        else:
            candidates = dialect.lock_candidates(self.dialect, front)
        stmt = delete(table).where(ident.in_(candidates))
        if table is LEASES:
            return sorted(set(conn.scalars(stmt.returning(table.c.target_id)).all()))
        return [tuple(r) for r in conn.execute(stmt.returning(key, table.c.target_id)).all()]

    def _unleased(self, conn: Connection, targets: set[int]) -> list[int]:
        """The targets among these that hold no lease. A due row of a leased target
        is a stray (a crash, an old bug, a retire racing a claim): taking it deleted
        it, so a damaged queue mends itself at its front. Leases are few (the
        checks in flight), so this scan is short; whether a due row is the one
        `targets.next_due` names is judged in the claim's join, at no extra cost."""
        busy: set[int] = set()
        for chunk in chunks(sorted(targets)):
            busy.update(
                conn.scalars(
                    leased(self.dialect), {"ids": dialect.ids_value(self.dialect, chunk)}
                ).all()
            )
        return sorted(targets - busy)

    def record(self, records: Sequence[CheckRecord]) -> None:
        """Store a batch of finished checks in one transaction."""
        if not records:
            return
        # each record's problem codes joined once: its result row, its target's row
        # and its transition all store them (three joins a result were ~3% of a write)
        codes = [joined_codes(r.problems) for r in records]
        results = [
            {
                "target_id": r.target_id,
                "checked_at": r.checked_at,
                "outcome": r.outcome,
                "http_status": r.http_status,
                "latency_ms": r.latency_ms,
                "problems": joined or None,
            }
            for r, joined in zip(records, codes, strict=True)
        ]
        with self._write() as conn:
            execute_many(conn, _insert_results(self.dialect), results)
            # a record may name more than one end (a renewal in doubt: Claimed.also):
            # the database holds one lease a target at most, so one of them ends
            held, buckets, indexed, errors = self._end_leases(
                conn,
                [(r.target_id, r.lease) for r in records]
                + [(r.target_id, e) for r in records for e in r.also],
            )
            # one record per held lease moves the target on: a batch may also carry a
            # stale holder's result for the same target (its lease ran out while the
            # writer was retrying, and the target was claimed and checked again);
            # filtering by target id alone queued such a target twice (issue 14)
            latest: dict[int, int] = {}
            for n, r in enumerate(records):
                end = held.get(r.target_id)
                if end is not None and (end == r.lease or end in r.also):
                    if n > latest.get(r.target_id, -1):
                        latest[r.target_id] = n
            chosen = set(latest.values())
            changed: list[dict[str, Any]] = []
            same: list[dict[str, Any]] = []
            same_but_error: list[dict[str, Any]] = []
            trans: list[dict[str, Any]] = []
            for n in sorted(chosen):
                r = records[n]
                state = r.after.state.value
                stored = indexed[r.target_id]
                if stored == (state, r.outcome_name, codes[n], 1):
                    row: dict[str, Any] = {
                        "b_id": r.target_id,
                        "fails": r.after.fails,
                        "succs": r.after.succs,
                        "next_due": r.next_due,
                        "last_checked_at": r.checked_at,
                        "last_status": r.http_status,
                    }
                    if errors[r.target_id] == r.error:
                        same.append(row)
                    else:
                        row["last_error"] = r.error
                        same_but_error.append(row)
                else:
                    changed.append(
                        {
                            "b_id": r.target_id,
                            "state": state,
                            "fails": r.after.fails,
                            "succs": r.after.succs,
                            "next_due": r.next_due,
                            "last_checked_at": r.checked_at,
                            "last_status": r.http_status,
                            "last_outcome": r.outcome_name,
                            "last_problems": codes[n],
                            "active": 1,
                            "last_error": r.error,
                        }
                    )
                if r.before.state is not r.after.state:
                    trans.append(
                        {
                            "target_id": r.target_id,
                            "at": r.checked_at,
                            "from_state": r.before.state.value,
                            "to_state": state,
                            "outcome": r.outcome_name,
                            "problems": codes[n],
                            "error": r.error,
                        }
                    )
            execute_many(conn, TARGET_UPDATE, changed)
            execute_many(conn, TARGET_RECHECK, same)
            execute_many(conn, TARGET_RECHECK_ERROR, same_but_error)
            if chosen:
                execute_many(
                    conn,
                    DUE_INSERT,
                    [
                        {"due": records[n].next_due, "target_id": tid, "bucket": buckets[tid]}
                        for tid, n in latest.items()
                    ],
                )
            if trans:
                execute_many(conn, TRANSITIONS_INSERT, trans)
            record_marks(conn, self.dialect, [records[n] for n in sorted(chosen)])
            conn.execute(
                last_check(self.dialect),
                {"key": LAST_CHECK_KEY, "value": str(max(r.checked_at for r in records))},
            )

    def _end_leases(
        self, conn: Connection, claims: Sequence[tuple[int, int]]
    ) -> tuple[dict[int, int], dict[int, int | None], dict[int, _Indexed], dict[int, str | None]]:
        """Delete these leases; of those still held (not expired and re-claimed) whose
        target is still active, target id -> lease, target id -> bucket (for the
        due rows written next), target id -> (state, last outcome, last problems,
        active) as stored, and target id -> last error as stored. Leases before
        targets: the lock order everywhere."""
        held: dict[int, int] = {}
        by_lease: dict[int, list[int]] = defaultdict(list)
        for i, lease in claims:
            by_lease[lease].append(i)
        # one lease end per claim, so few groups, each a primary-key range
        for lease, ids in by_lease.items():
            for chunk in chunks(sorted(set(ids))):
                ended: list[int] = list(
                    conn.scalars(
                        end_lease(self.dialect),
                        {"lease": lease, "ids": dialect.ids_value(self.dialect, chunk)},
                    ).all()
                )
                for tid in ended:
                    held[tid] = max(lease, held.get(tid, lease))
        active: dict[int, int | None] = {}
        indexed: dict[int, _Indexed] = {}
        errors: dict[int, str | None] = {}
        for some in chunks(sorted(held)):
            rows: Any = conn.execute(
                active_buckets(self.dialect), {"ids": dialect.ids_value(self.dialect, some)}
            ).all()
            for tid, bucket, state, outcome, problems, flag, error in rows:
                active[tid] = bucket
                indexed[tid] = (state, outcome, problems, flag)
                errors[tid] = error
        kept = {tid: lease for tid, lease in held.items() if tid in active}
        return kept, active, indexed, errors

    def renew(self, claims: Sequence[tuple[int, int]], until: int, now: int) -> list[int]:
        """Move the leases of these claims (target, lease end) to end at `until`, those
        still held: not run out at `now` (anyone may claim those again), nor ended
        and claimed again since (a new end). The targets whose lease moved, now
        claimed as (target, `until`); the holder's result and give-back name that."""
        if not claims:
            return []
        by_lease: dict[int, list[int]] = defaultdict(list)
        for i, lease in claims:
            by_lease[lease].append(i)
        moved: list[int] = []
        with self._write() as conn:
            for lease, ids in sorted(by_lease.items()):
                for chunk in chunks(sorted(set(ids))):
                    moved += conn.scalars(
                        update(LEASES)
                        .where(
                            LEASES.c.until == lease,
                            LEASES.c.until > now,
                            LEASES.c.target_id.in_(chunk),
                        )
                        .values(until=until)
                        .returning(LEASES.c.target_id)
                    ).all()
        return moved

    def put_off(self, holds: Mapping[str, int]) -> int:
        """Move the queued targets of held hosts (host key -> the hold's end, ms)
        due before their host's hold ends to its end; how many moved. A stop
        gives back its claims of a held host due at the hold's end, but the
        host's other due targets, never claimed, were the first a member taking
        the host over claimed, and it asked the host at once if it had not read
        the hold yet, or the hold could not be shared. One read of the queue's
        front up to the latest end (those due within PUT_OFF_SLACK_MS of it
        left), narrowed by the hosts' buckets (the row's
        copy; a row without one is claimed as bucket 0's, so read too), each
        target then matched by its host. A target whose row another member
        claims meanwhile is left to it (the row is gone). Due rows before
        targets, each target moved only with the row it was read with."""
        if not holds:
            return 0
        buckets = sorted({host_bucket(host) for host in holds})
        moved = 0
        with self._write() as conn:
            if self.dialect == "postgresql":
                # a row another transaction holds is waited for a moment, then the
                # whole put-off fails (and the stop says so): it waited as long as
                # the row was held, on the database thread the stop's give-backs
                # and results share, and the stop's budget ran out on it
                conn.execute(text(f"SET LOCAL lock_timeout = {PUT_OFF_LOCK_WAIT_MS}"))
            rows: Any = conn.execute(
                select(DUE.c.due, DUE.c.target_id, TARGETS.c.url)
                .join(TARGETS, TARGETS.c.id == DUE.c.target_id)
                .where(
                    DUE.c.due < max(holds.values()),
                    or_(DUE.c.bucket.in_(buckets), DUE.c.bucket.is_(None)),
                )
            ).all()
            later: dict[int, list[tuple[int, int]]] = defaultdict(list)  # end -> rows
            hosts: dict[str, str | None] = {}  # a URL's start -> its host's key
            for due, tid, url in rows:
                end = holds.get(_host_key_of(url, hosts) or "")
                if end is not None and due < end - PUT_OFF_SLACK_MS:
                    later[end].append((due, tid))
            for until, keys in sorted(later.items()):
                for chunk in chunks(keys, keys_a_statement(self.dialect)):
                    # the rows as read, each by its key, and then only their targets
                    # (those scheduled before the end): a row another member claimed
                    # meanwhile is gone, and the target its give-back or result queued
                    # again stays at that time. Its next_due moved first, its new row
                    # was a stray to the next claim, deleted: never due again (R41)
                    taken: Any = conn.execute(
                        delete(DUE)
                        .where(due_keys(self.dialect, chunk))
                        .returning(DUE.c.target_id, DUE.c.bucket)
                    ).all()
                    if not taken:
                        continue
                    bucket = {int(t): b for t, b in taken}
                    kept: Any = conn.scalars(
                        update(TARGETS)
                        .where(
                            dialect.in_ids(self.dialect, TARGETS.c.id, sorted(bucket)),
                            TARGETS.c.next_due < until,
                        )
                        .values(next_due=until)
                        .returning(TARGETS.c.id)
                    ).all()
                    conn.execute(*due_rows_at(self.dialect, until, [(t, bucket[t]) for t in kept]))
                    moved += len(kept)
        return moved

    def release(self, claims: Sequence[tuple[int, int]], now: int) -> None:
        """Give back claimed targets that were not checked (shutdown): due again now.
        A claim may be named by more than one end (a renewal in doubt: one is held)."""
        if not claims:
            return
        with self._write() as conn:
            ended, buckets, _, _ = self._end_leases(conn, claims)
            held = sorted(ended)
            for chunk in chunks(held):
                conn.execute(
                    update(TARGETS).where(TARGETS.c.id.in_(chunk)).values(next_due=now, active=1)
                )
            if held:
                conn.execute(
                    DUE.insert(),
                    [{"due": now, "target_id": i, "bucket": buckets[i]} for i in held],
                )
