"""The reads behind a target's availability (the arithmetic: monitor/availability.py).

Two range reads on primary keys, both bounded by the longest window: the
target's results since its start, counted in the database by UTC day and window
(at most 34 rows, however often it is checked: 8,640 results at a 5-minute
interval), and its rollups of those days (at most 31 rows). On
PostgreSQL the results' read touches only the partitions of those days, each
through its primary key.

The lists (/targets, /api/v1/targets) show the 24 h window alone, for a whole
page of targets in one statement (`availability_24h`): the page's results of the
last 24 h, counted in the database by target (one row a target, grouped in the
primary key's order: grouping by day too cost SQLite a temporary B-tree, 3x the
time). No rollup is read: the 24 h window holds no whole UTC day, so the
arithmetic counts it from the results alone (monitor/availability.py, `last_day`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, func, select, text

from monitor.availability import DAY_MS, Share, availability, last_day, starts
from monitor.storage.store import RESULTS, ROLLUPS, Store
from monitor.storage.tables import OUTCOME_CODES

UP_CODES = frozenset(code for outcome, code in OUTCOME_CODES.items() if outcome.is_up)


def queries(target_id: int, now_ms: int) -> tuple[Select[Any], Select[Any]]:
    """The two reads at `now_ms`: results grouped (day, span, checks, up) and
    rollups (day, counts), as monitor.availability.availability takes them."""
    firsts = starts(now_ms)
    at = RESULTS.c.checked_at
    # the index of the shortest window holding the result (they are nested)
    span = case(
        *((at > first, index) for index, first in enumerate(firsts[:-1])),
        else_=len(firsts) - 1,
    )
    up = func.sum(case((RESULTS.c.outcome.in_(sorted(UP_CODES)), 1), else_=0))
    raw = (
        select(at // DAY_MS, span, func.count(), up)
        .where(RESULTS.c.target_id == target_id, at > firsts[-1], at <= now_ms)
        # by position: the expressions' bound values would differ from the select
        # list's to PostgreSQL, which then refuses the grouping
        .group_by(text("1"), text("2"))
    )
    rolled = select(ROLLUPS.c.day, ROLLUPS.c.counts).where(
        ROLLUPS.c.target_id == target_id,
        # the days that may be whole inside the longest window
        ROLLUPS.c.day >= firsts[-1] // DAY_MS,
        ROLLUPS.c.day < now_ms // DAY_MS,
    )
    return raw, rolled


def page_query(target_ids: Sequence[int], now_ms: int) -> Select[Any]:
    """The 24 h window's read for a page of targets: their results after `now_ms - 24 h`
    and up to `now_ms`, counted (target, checks, up). On PostgreSQL the range on
    checked_at touches the partitions of those two days only."""
    first = starts(now_ms)[0]
    at = RESULTS.c.checked_at
    up = func.sum(case((RESULTS.c.outcome.in_(sorted(UP_CODES)), 1), else_=0))
    return (
        select(RESULTS.c.target_id, func.count(), up)
        .where(RESULTS.c.target_id.in_(sorted(set(target_ids))), at > first, at <= now_ms)
        .group_by(RESULTS.c.target_id)
    )


class AvailabilityStore(Store):
    def availability(self, target_id: int, now_ms: int) -> dict[str, Share]:
        """The target's Share of up checks over each window (WINDOWS) ending at `now_ms`."""
        raw, rolled = queries(target_id, now_ms)
        with self.engine.connect() as conn:
            raw_rows = [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(raw)]
            rollups = [(int(r[0]), str(r[1])) for r in conn.execute(rolled)]
        return availability(now_ms, raw_rows, rollups, UP_CODES)

    def availability_24h(self, target_ids: Sequence[int], now_ms: int) -> dict[int, Share]:
        """Each target's Share over the 24 h ending at `now_ms`, for a page of them (up
        to the lists' 1,000) in one statement: what `availability(...)["24h"]` gives,
        by the same arithmetic, without the 7 d and 30 d windows' reads."""
        if not target_ids:
            return {}
        with self.engine.connect() as conn:
            counted = {
                int(r[0]): (int(r[1]), int(r[2]))
                for r in conn.execute(page_query(target_ids, now_ms))
            }
        return {tid: last_day(now_ms, *counted.get(tid, (0, 0))) for tid in target_ids}


def availability_document(shares: dict[str, Share]) -> dict[str, dict[str, int | float | None]]:
    """The API's and `history --format json`'s `availability` member."""
    return {name: share.document() for name, share in shares.items()}
