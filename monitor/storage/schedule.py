"""Due times set on a clock that has since been stepped back: pulled in.

A check decided while the clock ran ahead (NTP stepping it back later, a VM
resumed with a wrong clock, an operator) queued its target at that clock's
time plus the interval; once the clock is set right the target waited the
interval plus the whole step. No due time a check can set lies further ahead
than the kind's longest delay (interval and jitter: a failing target's
backoff is shorter), so a queued target due beyond that is moved: one checked
"in the future" keeps its delay from now, any other is due at the latest the
settings allow after its last check (now if that is past: a new target, a claim
given back on the clock ahead; later if the settings changed, not a burst).

A keyset walk of the due queue from its back, a page at a time (the caller
spreads the pages over its heartbeats), so no transaction holds the write
lock for long. A lease taken on the clock ahead whose holder never recorded
(it died, or its result was dropped) ends the whole step ahead too: once a
live holder has had its lease's time, such leases are made to run out now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_, update

from monitor.storage.lean import execute_many
from monitor.storage.store import DUE, LEASES, TARGETS, Store, chunks

PAGE = 5000  # due rows read per call: ~10-50 ms on SQLite, a heartbeat's small part

_MOVE = (
    update(TARGETS)
    .where(TARGETS.c.id == bindparam("b_id"), TARGETS.c.next_due == bindparam("b_old"))
    .values(next_due=bindparam("b_new"))
)


@dataclass(frozen=True, slots=True)
class Page:
    moved: int  # targets pulled in
    rest: tuple[int, int] | None  # the (due, target id) to walk on from; None: done


class ScheduleStore(Store):
    """Pulling in what a clock that ran ahead scheduled too far."""

    def pull_in_page(
        self,
        now: int,
        bounds: Mapping[str, int],
        before: tuple[int, int] | None = None,
        *,
        page: int = PAGE,
    ) -> Page:
        """One page of the due queue beyond `now` + the least bound, from its back
        (or from just before `before`): each target due later than `now` plus its
        kind's bound (ms) is moved. Read first, then one write only if any is to move:
        the due row is deleted with its key as read (so a claim or a retire that took
        it meanwhile wins) and queued again at the new time."""
        least = min(bounds.values())
        query = (
            select(
                DUE.c.due,
                DUE.c.target_id,
                TARGETS.c.kind,
                TARGETS.c.last_checked_at,
                TARGETS.c.fails,
            )
            .join(TARGETS, TARGETS.c.id == DUE.c.target_id)
            .where(DUE.c.due > now + least, TARGETS.c.next_due == DUE.c.due)
            .order_by(DUE.c.due.desc(), DUE.c.target_id.desc())
            .limit(page)
        )
        if before is not None:
            query = query.where(tuple_(DUE.c.due, DUE.c.target_id) < tuple_(*before))
        with self.engine.connect() as conn:
            rows: Any = conn.execute(query).all()
        moves: dict[tuple[int, int], int] = {}
        for due, tid, kind, checked, fails in rows:
            bound = bounds.get(kind, least)
            if due <= now + bound:
                continue
            if checked is not None and checked > now:  # checked on the clock ahead
                moves[(due, tid)] = now + min(due - checked, bound)
            else:  # queued there by a claim given back or a new target, or by settings
                # since changed (a lower jitter, a shorter interval): the latest these
                # settings allow after its last check, at once if that is past (moved
                # to now, a lowered jitter made a fifth of the corpus due at the start);
                # a failing one is due sooner than `bound`: now, as before
                healthy = checked is not None and not fails
                moves[(due, tid)] = max(now, checked + bound) if healthy else now
        rest = (rows[-1][0], rows[-1][1]) if len(rows) == page else None
        if not moves:
            return Page(0, rest)
        with self._write() as conn:
            taken: list[Any] = []
            for keys in chunks(sorted(moves)):
                taken += conn.execute(
                    delete(DUE)
                    .where(tuple_(DUE.c.due, DUE.c.target_id).in_(keys))
                    .returning(DUE.c.due, DUE.c.target_id, DUE.c.bucket)
                ).all()
            execute_many(
                conn,
                _MOVE,
                [{"b_id": tid, "b_old": due, "b_new": moves[(due, tid)]} for due, tid, _ in taken],
            )
            if taken:
                conn.execute(
                    DUE.insert(),
                    [
                        {"due": moves[(due, tid)], "target_id": tid, "bucket": bucket}
                        for due, tid, bucket in taken
                    ],
                )
        return Page(len(taken), rest)

    def schedule_high(self) -> tuple[int | None, int | None]:
        """The furthest due time a target's schedule names, and the furthest lease end:
        witnesses of the clock that stored them (a run on a clock ahead that claimed or
        stored targets but recorded nothing left no last check). Read from the back of
        each key: the first due row that `targets.next_due` names (strays are few)."""
        due = (
            select(DUE.c.due)
            .join(TARGETS, TARGETS.c.id == DUE.c.target_id)
            .where(TARGETS.c.next_due == DUE.c.due)
            .order_by(DUE.c.due.desc(), DUE.c.target_id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.scalar(due), conn.scalar(select(func.max(LEASES.c.until)))

    def expire_leases_ahead(self, now: int, horizon: int) -> int:
        """Leases ending more than `horizon` ms after `now` (taken on a clock that has
        since stepped back) end at `now` instead: claimable again. Read first (leases
        are few); each moved by its key as read, so one ended meanwhile stays ended."""
        with self.engine.connect() as conn:
            keys = [
                tuple(r)
                for r in conn.execute(
                    select(LEASES.c.until, LEASES.c.target_id).where(LEASES.c.until > now + horizon)
                )
            ]
        if not keys:
            return 0
        with self._write() as conn:
            taken: set[int] = set()
            for chunk in chunks(sorted(keys)):
                taken.update(
                    conn.scalars(
                        delete(LEASES)
                        .where(tuple_(LEASES.c.until, LEASES.c.target_id).in_(chunk))
                        .returning(LEASES.c.target_id)
                    )
                )
            if taken:  # distinct targets: one leased twice (an older bug) gets one lease
                conn.execute(LEASES.insert(), [{"until": now, "target_id": t} for t in taken])
        return len(taken)
