"""`check_results` partitioned by UTC day on PostgreSQL (migration 0008).

Why: at 10M targets the daemon writes 160M results a day (docs/scaling.md).
Retention by DELETE touches each of those rows once more, bloats the table
and leaves the vacuum to reclaim 15 GB a day; dropping a day's partition is a
catalogue change. A claim or a write never reads results, so partitions cost
them nothing; a target's recent results are read per partition by its
primary key (`target_id`, `checked_at`), and the days are few (retention).

One partition per day, `check_results_YYYYMMDD`, made `AHEAD_DAYS` ahead by
the maintenance leader. A DEFAULT partition takes any row outside them (a
clock far off, maintenance stopped for a week): when a day's partition is
made, that day's rows are moved out of the default first, so making it never
fails on them. Only the leader runs this (one member at a time), and the
migration runs under its advisory lock. SQLite has no partitions: everything
here is a no-op there, and retention there stays the chunked DELETE.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

PARENT = "check_results"
DEFAULT = "check_results_default"
DAY_MS = 86_400_000
AHEAD_DAYS = 7
LOCK_TIMEOUT_MS = 2000  # a maintenance step's longest wait for a lock (writers queue behind)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for lock_timeout
_NAME = re.compile(r"check_results_(\d{8})")


def name_of(day: int) -> str:
    """The partition of `day` (days since the epoch, UTC)."""
    return f"{PARENT}_{datetime.fromtimestamp(day * 86_400, UTC):%Y%m%d}"


def day_of(name: str) -> int | None:
    m = _NAME.fullmatch(name)
    if m is None:
        return None
    when = datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=UTC)
    return int(when.timestamp()) // 86_400


def is_partition(table: str) -> bool:
    """A partition of `check_results` (not in the models: made at run time)."""
    return table == DEFAULT or day_of(table) is not None


def partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}
    ).scalar_one_or_none()
    return kind == "p"


def days(conn: Connection) -> set[int]:
    """The days that have a partition."""
    names: Any = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).scalars()
    return {d for d in (day_of(str(n)) for n in names) if d is not None}


def make(conn: Connection, day: int) -> None:
    """Make `day`'s partition, moving in the rows the default partition holds for it."""
    name, lo, hi = name_of(day), day * DAY_MS, (day + 1) * DAY_MS
    span = {"lo": lo, "hi": hi}
    # the ATTACH takes this lock anyway; taken first, no writer can put a row of the
    # day into the default between the move and the ATTACH (which then failed)
    conn.execute(text(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE"))
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE checked_at >= :lo AND checked_at < :hi"
            f" RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        span,
    )
    conn.execute(
        text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})")
    )


def ensure(conn: Connection, now_ms: int, *, first_day: int | None = None) -> int:
    """Partitions from `first_day` (default: yesterday) to `AHEAD_DAYS` ahead; returns
    how many were made."""
    today = now_ms // DAY_MS
    have = days(conn)
    made = 0
    for day in range(today - 1 if first_day is None else first_day, today + AHEAD_DAYS + 1):
        if day not in have:
            make(conn, day)
            made += 1
    return made


def drop_before(conn: Connection, cutoff_ms: int) -> int:
    """Drop the partitions whose whole day is older than `cutoff_ms`; returns how many."""
    old = sorted(d for d in days(conn) if (d + 1) * DAY_MS <= cutoff_ms)
    for day in old:
        _drop(conn, day)
    return len(old)


def maintain(engine: Engine, now_ms: int, cutoff_ms: int) -> tuple[int, int]:
    """The leader's part of retention on PostgreSQL: the coming days' partitions
    made, the days older than the cutoff dropped whole. Returns (made, dropped);
    (0, 0) where results are not partitioned (SQLite).

    Each step is a transaction of its own that waits at most `LOCK_TIMEOUT_MS`
    for its locks: DROP wants the parent's ACCESS EXCLUSIVE lock and ATTACH the
    default partition's, so one waiting on a long reader (a `history`, a
    report, psql) would queue every writer of the cluster behind it, and the
    members would be found stuck. A step that cannot have its locks is left
    for the next period; the rows meanwhile go to the default partition or
    stay a little longer."""
    if engine.dialect.name != "postgresql":
        return 0, 0
    with engine.connect() as conn:
        if not partitioned(conn):
            return 0, 0
        have = days(conn)
    today = now_ms // DAY_MS
    made = dropped = 0
    for day in range(today - 1, today + AHEAD_DAYS + 1):
        if day not in have:
            if not _briefly(engine, make, day):
                break
            made += 1
    for day in sorted(d for d in have if (d + 1) * DAY_MS <= cutoff_ms):
        if not _briefly(engine, _drop, day):
            break
        dropped += 1
    return made, dropped


def _drop(conn: Connection, day: int) -> None:
    conn.execute(text(f"DROP TABLE {name_of(day)}"))


def _briefly(engine: Engine, step: Callable[[Connection, int], None], day: int) -> bool:
    """`step` for `day` in a transaction whose lock waits end after LOCK_TIMEOUT_MS;
    False when they did (logged), any other error raised."""
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
            step(conn, day)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.warning(
            "maintenance: %s of results partition %s waited over %d ms for a lock held by "
            "another session; left for the next period",
            "dropping" if step is _drop else "making",
            name_of(day),
            LOCK_TIMEOUT_MS,
        )
        return False
    return True
