"""Retention and rollups: purge old results, store daily rollups, small metadata."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    case,
    delete,
    func,
    select,
    tuple_,
    update,
)

from monitor.storage import dialect
from monitor.storage.marks import read_mark
from monitor.storage.store import (
    DAY_MS,
    LAST_CHECK_KEY,
    META,
    RESULTS,
    ROLLUPS,
    TARGETS,
    Store,
    chunks,
)

# SQLite deletes ~6M old results a second: ~10 ms of the write lock a transaction
PURGE_ROWS_PER_TRANSACTION = 50_000
# ids of out-of-step targets read at a time (~80 bytes each in a list)
MEND_PAGE = 10_000
# `active` disagreeing with the schedule (`next_due`): see mend_active_flags
_DRIFT = (TARGETS.c.active.is_(None)) != (TARGETS.c.next_due.is_(None))


class RetentionStore(Store):
    """Maintenance writes and the reads they need."""

    def max_target_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.max(TARGETS.c.id))) or 0)

    def purge_results(
        self, cutoff_ms: int, *, chunk: int = 5000, rows: int = PURGE_ROWS_PER_TRANSACTION
    ) -> int:
        """Delete raw results older than the cutoff, a range of targets and at most
        `rows` rows per transaction so the writer is never held up for long: the
        first purge after `retention_days` was lowered deleted every old result of
        5,000 targets in one transaction (6M rows: ~1 s of the write lock on SQLite;
        past the 5 s busy timeout at a 5-minute interval, and claims failed). A range
        with nothing to delete takes no write transaction."""
        deleted = 0
        top = self.max_target_id()
        key = tuple_(RESULTS.c.target_id, RESULTS.c.checked_at)
        for lo in range(0, top + 1, chunk):
            found = select(RESULTS.c.target_id, RESULTS.c.checked_at).where(
                RESULTS.c.target_id >= lo,
                RESULTS.c.target_id < lo + chunk,
                RESULTS.c.checked_at < cutoff_ms,
            )
            # asked first, with no lock: on PostgreSQL the days past retention went
            # with their partitions, and a write per range found nothing to delete
            with self.engine.connect() as conn:
                if conn.execute(found.limit(1)).first() is None:
                    continue
            old = found.limit(rows)
            while True:
                with self._write() as conn:
                    done = max(conn.execute(delete(RESULTS).where(key.in_(old))).rowcount, 0)
                deleted += done
                if done < rows:
                    break
        return deleted

    def mend_active_flags(self, *, chunk: int = 500, page: int = MEND_PAGE) -> int:
        """Set `targets.active` from the schedule where they disagree; how many rows.

        This version keeps them equal, but a member of the previous version (a
        rolling upgrade of a cluster, or one left running while another start
        migrated the database to 0010) writes `next_due` alone: a target it
        retires stays listed and counted, one it schedules is flagged only by
        its first result here. Read first, with no write lock: almost always
        there is nothing to mend, and a write transaction per 5,000 ids was ~200
        an hour at a million targets, each waiting on and holding up the claims.
        The ids are read `page` at a time (keyset by id: after a long rolling
        upgrade, reading them all at once held millions in memory) and mended
        `chunk` ids a transaction, the disagreement asked again there (a result
        or a retire may have settled it meanwhile)."""
        page = max(page, 1)
        mended = 0
        after = 0
        while True:  # each page starts past the last: ends when a page comes short
            with self.engine.connect() as conn:
                found: list[int] = list(
                    conn.scalars(
                        select(TARGETS.c.id)
                        .where(_DRIFT, TARGETS.c.id > after)
                        .order_by(TARGETS.c.id)
                        .limit(page)
                    )
                )
            for ids in chunks(found, chunk):
                with self._write() as conn:
                    res = conn.execute(
                        update(TARGETS)
                        .where(TARGETS.c.id.in_(ids), _DRIFT)
                        .values(active=case((TARGETS.c.next_due.is_(None), None), else_=1))
                    )
                    mended += max(res.rowcount, 0)
            if len(found) < page:
                return mended
            after = found[-1]

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

    def oldest_result_ms(self, since_ms: int | None = None) -> int | None:
        """The oldest result (at or after `since_ms`). A scan of every row: the key
        leads with the target (~75 ms a million rows on PostgreSQL), so asked once,
        when nothing is rolled up yet; `has_results` says whether there are any."""
        query = select(func.min(RESULTS.c.checked_at))
        if since_ms is not None:
            query = query.where(RESULTS.c.checked_at >= since_ms)
        with self.engine.connect() as conn:
            value = conn.scalar(query)
            return None if value is None else int(value)

    def newest_result_ms(self) -> int | None:
        """The newest result stored, at most: the last check's mark (the newest of the
        last batch written, so never past the newest stored), else (none stored, or
        unreadable) a scan of every result's time; None when there are no results."""
        if (value := read_mark(self.get_meta(LAST_CHECK_KEY))) is not None:
            return value
        with self.engine.connect() as conn:
            newest = conn.scalar(select(func.max(RESULTS.c.checked_at)))
            return None if newest is None else int(newest)

    def has_results(self) -> bool:
        with self.engine.connect() as conn:
            return conn.scalar(select(RESULTS.c.target_id).limit(1)) is not None

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
        """Store days' rollups; a day's rollup already stored is replaced only by one
        of as many checks or more: a day rolled up again (its mark unreadable: from
        the oldest result kept) may have lost part of its results to retention since,
        which cuts a day in two, and its rollup was then rewritten from that part
        (half a day's history gone, and from a target's availability)."""
        if rows:
            with self._write() as conn:
                conn.execute(
                    dialect.upsert(
                        self.dialect,
                        ROLLUPS,
                        ["target_id", "day"],
                        ["checks", "counts", "p50_ms", "p95_ms"],
                        unless_larger="checks",
                    ),
                    list(rows),
                )
