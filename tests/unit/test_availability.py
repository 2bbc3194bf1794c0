"""A target's availability (monitor/availability.py), pure: each day counted from one
record (the rollup or the raw results), never both; a window with no checks has
no availability. The reads are tested in tests/integration/test_target_availability.py."""

from __future__ import annotations

from collections import Counter

from hypothesis import example, given
from hypothesis import strategies as st

from monitor.availability import (
    DAY_MS,
    WINDOWS,
    Share,
    availability,
    last_day,
    parse_counts,
    starts,
)
from monitor.daemon.rollup import rollup_row
from monitor.storage.availability import UP_CODES

NAMES = [name for name, _ in WINDOWS]
BASE = 20_000 * DAY_MS  # a day in 2024
CODES = st.integers(0, 12)  # 12: no outcome (written by hand): a check, not up


def grouped(now: int, results: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """(day, span, checks, up) as the database counts the results (storage/availability.py)."""
    firsts = starts(now)
    checks: Counter[tuple[int, int]] = Counter()
    up: Counter[tuple[int, int]] = Counter()
    for at, code in results:
        if firsts[-1] < at <= now:
            key = (at // DAY_MS, next(i for i, first in enumerate(firsts) if at > first))
            checks[key] += 1
            up[key] += code in UP_CODES
    return [(day, span, n, up[(day, span)]) for (day, span), n in checks.items()]


def rollups_of(results: list[tuple[int, int]], days: set[int]) -> list[tuple[int, str]]:
    """The rollups the maintenance writes for `days`, from every result of each."""
    by_day: dict[int, list[tuple[int, int | None]]] = {}
    for at, code in results:
        by_day.setdefault(at // DAY_MS, []).append((code, None))
    return [(d, rollup_row(1, d, by_day[d])["counts"]) for d in sorted(days) if d in by_day]


history = st.tuples(
    st.integers(BASE, BASE + DAY_MS - 1),  # now, at any time of day
    st.lists(st.tuples(st.integers(0, 32 * DAY_MS), CODES), max_size=60),  # (age, code)
)


@given(
    history,
    st.lists(
        st.tuples(st.integers(BASE // DAY_MS - 32, BASE // DAY_MS + 1), st.text("0123:9 ")),
        max_size=8,
    ),
)
def test_shares_are_ratios_nested_and_none_without_checks(
    h: tuple[int, list[tuple[int, int]]], rollups: list[tuple[int, str]]
) -> None:
    """Whatever the rollups hold (late results, a clock ahead, text written by hand)."""
    now, aged = h
    results = [(now - age, code) for age, code in aged]
    shares = availability(now, grouped(now, results), rollups, UP_CODES)
    assert list(shares) == NAMES
    for share in shares.values():
        assert 0 <= share.up <= share.checks
        if share.checks == 0:
            assert share.ratio is None
        else:
            assert share.ratio is not None and 0.0 <= share.ratio <= 1.0
    assert shares["24h"].checks <= shares["7d"].checks <= shares["30d"].checks


@given(history, st.integers(0, 32 * DAY_MS), st.sets(st.integers(0, 33)))
def test_each_check_is_counted_once_from_results_or_rollup(
    h: tuple[int, list[tuple[int, int]]], kept: int, rolled_back: set[int]
) -> None:
    """Results older than a cutoff purged (mid-day, as SQLite's purge cuts), some
    finished days rolled up from all their results: a check counts in a window when
    its result is kept, or its day is rolled up and whole inside the window."""
    now, aged = h
    results = [(now - age, code) for age, code in aged]
    today = now // DAY_MS
    rolled = {today - back for back in rolled_back if back > 0}  # finished days only
    cutoff = now - kept
    shares = availability(
        now,
        grouped(now, [(at, c) for at, c in results if at >= cutoff]),
        rollups_of(results, rolled),
        UP_CODES,
    )
    for name, first in zip(NAMES, starts(now), strict=True):
        counted = [
            code
            for at, code in results
            if first < at <= now
            and (at >= cutoff or (at // DAY_MS in rolled and at // DAY_MS * DAY_MS > first))
        ]
        assert shares[name] == Share(len(counted), sum(c in UP_CODES for c in counted))


def test_without_rollups_a_window_is_its_results() -> None:
    now = BASE + DAY_MS // 2
    results = [(now - h * 3_600_000, 0 if h % 4 else 3) for h in range(0, 24 * 40)]
    shares = availability(now, grouped(now, results), [], UP_CODES)
    assert shares["24h"] == Share(24, 18)  # ages 0..23 h: every 4th failed
    assert shares["7d"] == Share(7 * 24, 7 * 18)
    assert shares["30d"] == Share(30 * 24, 30 * 18)
    assert shares["30d"].ratio == 0.75
    assert availability(now, [], [], UP_CODES)["30d"].document() == {
        "checks": 0,
        "up": 0,
        "ratio": None,
    }


def test_counts_written_by_hand_are_read_in_part() -> None:
    assert parse_counts("0:23 3:1 x:4 5: :7 1:2", UP_CODES) == Share(26, 25)


def test_a_day_counts_from_one_record_and_today_from_results() -> None:
    """Yesterday cut by the purge (2 results kept of its 24, rolled up whole); today
    rolled up by a clock that ran ahead (a rollup of 50 checks): 24 + 3, not 26 + 3
    nor 24 + 50."""
    now = BASE + DAY_MS // 2
    yesterday = now // DAY_MS - 1
    raw = [(yesterday, 1, 2, 2), (yesterday + 1, 0, 3, 0)]
    shares = availability(now, raw, [(yesterday, "0:24"), (yesterday + 1, "0:50")], UP_CODES)
    assert shares["7d"] == Share(27, 24)
    assert shares["24h"] == Share(3, 0)  # yesterday is not whole in it: results alone


@given(history, st.sets(st.integers(0, 33)), st.integers(0, 32 * DAY_MS))
@example(  # now at midnight: yesterday's first instant is out, the midnight check in
    (BASE, [(DAY_MS, 3), (DAY_MS - 1, 0), (0, 3)]), {1}, 32 * DAY_MS
)
def test_the_lists_count_of_24_h_is_the_whole_arithmetic(
    h: tuple[int, list[tuple[int, int]]], rolled_back: set[int], kept: int
) -> None:
    """The lists read the 24 h window as one count per target (its results in it and
    the up ones), no rollup, no day: `last_day` gives what the whole arithmetic gives
    from the results by day and window and the rollups, whatever those hold (rolled
    up from all of a day's results, retention having cut any part of the window)."""
    now, aged = h
    results = [(now - age, code) for age, code in aged]
    today = now // DAY_MS
    rolled = {today - back for back in rolled_back}  # today too: a clock ran ahead
    kept_results = [(at, c) for at, c in results if at >= now - kept]
    inside = [c for at, c in kept_results if now - DAY_MS < at <= now]
    whole = availability(now, grouped(now, kept_results), rollups_of(results, rolled), UP_CODES)
    assert last_day(now, len(inside), sum(c in UP_CODES for c in inside)) == whole["24h"]
