"""Retention: roll up finished days, then drop raw results and old rollups.

On PostgreSQL results are partitioned by day (monitor/storage/partitions.py):
the coming days' partitions are made, and the days past retention that are
rolled up are dropped whole; the chunked DELETE then finds little or nothing
left (a day cut by the cutoff, the default partition). SQLite deletes rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from monitor.daemon import wall_mark
from monitor.daemon.rollup import rollup_row
from monitor.daemon.wall_mark import WALL_MARK, Mark, Origin, decode, encode, start_from
from monitor.storage import partitions
from monitor.storage.marks import read_mark
from monitor.storage.opening import first_line
from monitor.storage.repository import DAY_MS, Repository, now_ms

log = logging.getLogger(__name__)

ROLLED_THROUGH = "rolled_through_day"
MAX_DAYS_PER_RUN = 40
TARGET_CHUNK = 5000
# A day is rolled up only this long after it ended: its last results are stamped when
# their checks start and reach the database later (a check's timeout and retries, the
# batched writer, another member's writer catching up after an outage). Rolled up at
# 00:00:05, a day lost for good the results written after; the mark never goes back.
ROLLUP_GRACE_MS = 3_600_000
# a clock this far past the newest stored result is said (retention counts from the result)
FAR_AHEAD_MS = DAY_MS
# steady seconds between two stores of the honest time (wall_mark.py), at the
# maintenance beat: a reboot loses at most this much of it
MARK_EVERY = 60.0


# While a member of another version is live (a rolling upgrade), the leader mends the
# `active` flags this often at its heartbeat, not only at the hourly maintenance: a
# target the previous version retires (`next_due` alone) stayed listed and counted
# until then. One read of `targets`; the listings and counts cannot ask `next_due`
# themselves without losing their covering partial indexes.
MEND_MIXED_EVERY = 60.0


class MixedVersionMend:
    """The heartbeat's mend of the `active` flags beside another version (on its thread)."""

    def __init__(self) -> None:
        self._last = float("-inf")  # steady seconds of the last mend

    def beat(self, repo: Repository, steady: float, *, mixed: bool) -> None:
        if not mixed or steady - self._last < MEND_MIXED_EVERY:
            return
        self._last = steady
        if mended := repo.mend_active_flags():
            log.info("cluster: %d targets' active flag set from their schedule", mended)


def _steady() -> float:
    """Seconds no one steps: the boot-time clock where there is one (it counts a
    suspended machine's sleep), as the cluster's heartbeat reads it."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


class WallSince:
    """How far the wall clock can honestly have got (SQLite): where the daemon's
    start put it (wall_mark.start_from: the honest time stored before, else the
    newest result stored, else the clock) plus the steady time since (a clock
    behind it is taken as it is: `bounded` is a ceiling). A daemon's results on a
    clock a year ahead (jumped while it ran, or set so when it started) became the
    newest stored, and retention counted back from them and purged all history.
    Kept in `meta` at the maintenance beat (`store`) for the next start."""

    def __init__(
        self,
        start_ms: int | None = None,
        steady: Callable[[], float] = _steady,
        origin: Origin = Origin.NEWEST,
    ) -> None:
        self._start = now_ms() if start_ms is None else start_ms
        self._steady = steady
        self._at = steady()
        self.origin = origin
        self.said = False
        self._stored = float("-inf")  # steady seconds of the last store
        self._store_failed = False

    @classmethod
    def at_start(cls, repo: Repository) -> WallSince:
        """Read before the daemon records anything (the last check and the mark), and
        stored at once (a `run --once` keeps the mark too). A database that cannot
        answer now is no reason to stop a start: said, and the clock is taken as it
        is (a jump while running is still caught)."""
        wall, steady = now_ms(), _steady
        try:
            newest = repo.newest_result_ms()
            stored = repo.get_meta(WALL_MARK)
        except SQLAlchemyError as exc:
            log.warning(
                "maintenance: cannot read the newest result at the start: %s", first_line(exc)
            )
            newest = stored = None
        if (mark := decode(stored)) is None and stored is not None:
            log.warning(
                "maintenance: the honest time stored is unreadable (%.40r): retention "
                "counts from the newest result stored, as a first start does",
                stored,
            )
        # no mark: the newest result, even past the clock (one set behind while the
        # daemon was stopped and put right while it runs held retention back until the
        # next start); a mark: never the newest result (wall_mark.start_from)
        start, origin = start_from(wall, newest, mark, wall_mark.boot_id(), int(steady() * 1000))
        bound = cls(start, steady, origin)
        bound.store(repo)
        return bound

    def now(self) -> int:
        return self._at_steady(self._steady())

    def _at_steady(self, steady: float) -> int:
        return self._start + int((steady - self._at) * 1000)

    def store(self, repo: Repository) -> None:
        """Keep the bound for the next start, at most once a MARK_EVERY (the
        maintenance beat's; never per result). A failed write is said once until one
        succeeds, never fatal: the next start counts from an older mark (it keeps
        more history), as a restart after a reboot does."""
        at = self._steady()
        if at - self._stored < MARK_EVERY:
            return
        mark = Mark(self._at_steady(at), wall_mark.boot_id(), int(at * 1000))
        try:
            repo.set_meta(WALL_MARK, encode(mark))
        except SQLAlchemyError as exc:
            if not self._store_failed:
                log.warning(
                    "maintenance: cannot store the honest time for the next start: %s",
                    first_line(exc),
                )
            self._store_failed = True
            return
        self._stored = at
        self._store_failed = False


def bounded(now: int, bound: WallSince | None) -> int:
    """`now`, but never past `bound` (a clock far past it is said once)."""
    if bound is None:
        return now
    ceiling = bound.now()
    if now - ceiling > FAR_AHEAD_MS and not bound.said:
        bound.said = True
        log.warning(
            "maintenance: the clock is %.1f days past %s plus the steady time since: "
            "rollups and retention count from that, the last known honest time (a clock "
            "set ahead would purge all history); if the clock is right (the daemon or the "
            "machine was stopped that long), that many more days of results are kept: "
            "docs/operations.md, Retention",
            (now - ceiling) / DAY_MS,
            bound.origin.value,
        )
    return min(now, ceiling)


@dataclass(slots=True)
class MaintenanceReport:
    days_rolled: int = 0
    rollups: int = 0
    results_deleted: int = 0
    partitions_made: int = 0
    partitions_dropped: int = 0
    rollups_deleted: int = 0


def rolled_through(repo: Repository, *, quiet: bool = False) -> int | None:
    """The last day rolled up, None if none or unreadable: an unreadable mark failed
    every maintenance run (retention included) with a ValueError. It is said (once a
    run: `quiet` the second read), and the days are rolled up again from the oldest
    result kept (upserts); until one is, no day's partition is dropped (PostgreSQL)."""
    value = repo.get_meta(ROLLED_THROUGH)
    if value is None or (mark := read_mark(value)) is not None:
        return None if value is None else mark
    if quiet:
        return None
    log.warning(
        "maintenance: the rollup mark stored is unreadable (%.40r): days are rolled "
        "up again from the oldest result kept",
        value,
    )
    return None


def roll_up(
    repo: Repository, now_ms: int, keep_days: int | None = None, kept_ms: int | None = None
) -> tuple[int, int]:
    """Roll up every complete UTC day not rolled up yet, from `keep_days` ago at the
    earliest (a rollup older than that would be purged in the same run: one result
    stamped in 1970 by a broken clock made the first runs roll up 1970's empty days,
    40 a run, for three weeks, and days were dropped only once rolled up).
    A mark past the last complete day was set by a clock that ran ahead (stepped
    forward, then back): those days are rolled up again as they complete (upserts).
    Returns (days, rows)."""
    today = (now_ms - ROLLUP_GRACE_MS) // DAY_MS  # days before this one are complete
    # `kept_ms`: the clock deletion counts from (a wrong one is held back): what is
    # kept by it is rolled up, even if `now_ms` runs far ahead of it
    kept_day = today if kept_ms is None else (kept_ms - ROLLUP_GRACE_MS) // DAY_MS
    first = None if keep_days is None else min(today, kept_day) - keep_days
    mark = rolled_through(repo)
    if mark is None:
        oldest = repo.oldest_result_ms(None if first is None else first * DAY_MS)
        if oldest is not None:
            last = oldest // DAY_MS - 1
        elif first is not None and repo.has_results():
            last = first - 1  # only results too old to keep a rollup of
        else:
            return 0, 0
    else:
        last = mark
        if last >= today:  # set by a clock ahead: those days go on, roll them up again
            last = today - 1
            repo.set_meta(ROLLED_THROUGH, str(last))
    if first is not None:
        last = max(last, first - 1)
    days = rows = 0
    top = repo.max_target_id()
    for day in range(last + 1, min(today, last + 1 + MAX_DAYS_PER_RUN)):
        for lo in range(0, top + 1, TARGET_CHUNK):
            by_target = repo.day_results(day, lo, lo + TARGET_CHUNK)
            batch = [rollup_row(tid, day, samples) for tid, samples in sorted(by_target.items())]
            repo.store_rollups(batch)
            rows += len(batch)
        repo.set_meta(ROLLED_THROUGH, str(day))
        days += 1
    return days, rows


def history_clock(repo: Repository, now_ms: int, *, bounded: bool = False) -> int:
    """The time retention counts back from: history must survive a wrong clock (a
    leader a year ahead purged every result and rollup). PostgreSQL: the database's
    clock, the cluster's, read now. SQLite (one machine, its clock the database's):
    `now_ms`, but never past the newest stored result, so no result newer than it
    less the retention is deleted; a clock far ahead of it is said. `bounded`: the
    daemon's `now_ms`, already held to its start's newest result (WallSince): a
    daemon that recorded nothing for a day (long intervals) said so every hour."""
    if repo.dialect == "postgresql":
        return repo.db_now()
    if bounded:
        return now_ms
    newest = repo.newest_result_ms()
    if newest is None or now_ms <= newest:
        return now_ms
    if now_ms - newest > FAR_AHEAD_MS:
        log.warning(
            "maintenance: the clock is %.1f days past the newest stored result: retention "
            "counts back from that result (a clock set ahead would purge all history)",
            (now_ms - newest) / DAY_MS,
        )
    return newest


def run_maintenance(
    repo: Repository,
    now_ms: int,
    *,
    retention_days: int,
    rollup_retention_days: int,
    bound: WallSince | None = None,
) -> MaintenanceReport:
    """`bound`: the daemon's steady reading of the wall clock, on SQLite (PostgreSQL
    counts from the database's clock): `now_ms` never runs ahead of it."""
    report = MaintenanceReport()
    given = now_ms  # rollups follow it (they delete nothing): no lag after a long stop
    if repo.dialect != "postgresql":
        now_ms = bounded(now_ms, bound)
    report.days_rolled, report.rollups = roll_up(repo, given, rollup_retention_days, now_ms)
    # what is deleted counts back from this
    kept = history_clock(repo, now_ms, bounded=bound is not None)
    cutoff = kept - retention_days * DAY_MS
    mark = rolled_through(repo, quiet=True)  # said by roll_up if unreadable
    rolled_end = (mark + 1) * DAY_MS if mark is not None else 0
    # a day is dropped whole only once rolled up (a first run rolls up 40 days at most)
    report.partitions_made, report.partitions_dropped = partitions.maintain(
        repo.engine, now_ms, min(cutoff, rolled_end) if repo.has_results() else cutoff
    )
    report.results_deleted = repo.purge_results(cutoff)
    report.rollups_deleted = repo.purge_rollups(kept // DAY_MS - rollup_retention_days)
    repo.purge_probe_answers(now_ms)  # expired answers: a cache, not history
    repo.purge_events(kept - rollup_retention_days * DAY_MS)
    if mended := repo.mend_active_flags():  # a previous version's writes (migration 0010)
        log.info("maintenance: %d targets' active flag set from their schedule", mended)
    if report.days_rolled or report.results_deleted or report.rollups_deleted:
        log.info(
            "maintenance: rolled up %d days (%d rows); deleted %d results, %d rollups",
            report.days_rolled,
            report.rollups,
            report.results_deleted,
            report.rollups_deleted,
        )
    if report.partitions_made or report.partitions_dropped:
        log.info(
            "maintenance: results partitions: %d days made ahead, %d past retention dropped",
            report.partitions_made,
            report.partitions_dropped,
        )
    return report
