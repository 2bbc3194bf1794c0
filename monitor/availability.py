"""Pure: a target's availability over the last 24 h, 7 d and 30 d.

The share of its checks whose outcome counts as up (`Outcome.is_up`: ok,
moved), with the number of checks. The checks come from two records of the
same history (monitor/storage/availability.py reads them): the raw results,
kept `retention_days`, and the daily rollups (counts by outcome per UTC day),
kept longer. Each day is counted from one of them, never both:

- a whole UTC day inside the window, and over (it ended by `now`), from
  whichever record holds more checks of it: the rollup once retention purged
  some or all of its results (a purge cuts mid-day on SQLite), the results
  when some were written after the day was rolled up;
- the window's first day (it starts mid-day: a rollup cannot be cut) and
  today (not rolled up yet, or rolled up by a clock that ran ahead) from the
  results alone.

So a 30 d window reaches past `retention_days` by whole days only; where the
results of its first, partial day were purged it counts the rest. A window
with no checks has no availability (None), never 0 % or 100 %.

The 24 h window holds no whole UTC day (one whole inside it would start after
`now - 24 h` and end by `now`): it is counted from the results alone, whatever
the rollups hold, which lets the lists read it for a whole page in one
statement on the results, counted by target alone (`last_day`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DAY_MS = 86_400_000
# (name, length): nested, shortest first; the API's and the CLI's keys
WINDOWS: tuple[tuple[str, int], ...] = (
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
)
# the widest count a rollup holds (a BIGINT's digits): a longer one was written by
# hand, and past 4300 digits int() raised ValueError (a traceback on the page)
MAX_DIGITS = 19


@dataclass(frozen=True, slots=True)
class Share:
    """Checks in a window and how many of them were up."""

    checks: int = 0
    up: int = 0

    @property
    def ratio(self) -> float | None:
        """up / checks, in [0, 1]; None when there were no checks."""
        return self.up / self.checks if self.checks > 0 else None

    def __add__(self, other: Share) -> Share:
        return Share(self.checks + other.checks, self.up + other.up)

    def document(self) -> dict[str, int | float | None]:
        return {"checks": self.checks, "up": self.up, "ratio": self.ratio}


def starts(now_ms: int) -> list[int]:
    """Where each window starts, in WINDOWS' order: it holds the checks after that
    instant and up to `now_ms` (288 checks in 24 h at a 5-minute interval, not 289)."""
    return [now_ms - length for _, length in WINDOWS]


def parse_counts(counts: str, up_codes: Collection[int]) -> Share:
    """A rollup's counts ("0:23 3:1": outcome code:checks) as a Share; a pair that is
    not two whole numbers of at most MAX_DIGITS digits (written by hand) is left
    out, not a traceback."""
    checks = up = 0
    for pair in counts.split():
        code, _, n = pair.partition(":")
        if not all(x.isascii() and x.isdigit() and len(x) <= MAX_DIGITS for x in (code, n)):
            continue
        checks += int(n)
        if int(code) in up_codes:
            up += int(n)
    return Share(checks, up)


def availability(
    now_ms: int,
    raw: Iterable[tuple[int, int, int, int]],
    rollups: Iterable[tuple[int, str]],
    up_codes: Collection[int],
    windows: int = len(WINDOWS),
) -> dict[str, Share]:
    """Each window's Share at `now_ms`: the first `windows` of WINDOWS (1: 24 h alone).

    `raw`: the results from the longest window's start to `now_ms`, counted as
    (UTC day, span, checks, up), where span is the index in WINDOWS of the
    shortest window holding them. `rollups`: (UTC day, counts) of the days
    rolled up (any days: those that are not whole inside a window are left out).
    `up_codes`: the outcome codes that count as up in the rollups (OUTCOME_CODES).
    """
    firsts = starts(now_ms)
    # raw[day][span] = Share of that day's results whose shortest window is `span`
    by_day: dict[int, dict[int, Share]] = defaultdict(dict)
    for day, span, checks, up in raw:
        if checks <= 0 or not 0 <= span < len(WINDOWS):
            continue
        add = Share(checks, min(max(up, 0), checks))
        by_day[day][span] = by_day[day].get(span, Share()) + add
    rolled: dict[int, Share] = {}
    for day, counts in rollups:
        rolled[day] = rolled.get(day, Share()) + parse_counts(counts, up_codes)
    out: dict[str, Share] = {}
    for index, (name, _) in enumerate(WINDOWS[:windows]):
        first = firsts[index]
        total = Share()
        for day in set(by_day) | set(rolled):
            results = sum((s for span, s in by_day.get(day, {}).items() if span <= index), Share())
            whole = day * DAY_MS > first and (day + 1) * DAY_MS <= now_ms
            rollup = rolled.get(day)
            if whole and rollup is not None and rollup.checks > results.checks:
                total += rollup
            else:
                total += results
        out[name] = total
    return out


def last_day(now_ms: int, checks: int, up: int) -> Share:
    """The 24 h window's Share from its results' count alone (`checks` after `now_ms -
    24 h` and up to `now_ms`, `up` of them up), as the lists read it for a page of
    targets: `availability`'s own rule, which counts that window from results only
    (it holds no whole UTC day, the only kind a rollup stands for), so neither the
    rollups nor the results' days are needed."""
    raw = [(now_ms // DAY_MS, 0, checks, up)]
    return availability(now_ms, raw, (), (), windows=1)[WINDOWS[0][0]]


def percent(ratio: float) -> str:
    """A ratio as the page and `history` show it: one decimal, cut rather than rounded
    at the ends, so that 100% and 0% mean every check and none (99.96% reads
    99.9%, not 100.0%)."""
    if ratio >= 1.0:
        return "100%"
    if ratio <= 0.0:
        return "0%"
    tenths = min(max(int(ratio * 1000), 1), 999)
    return f"{tenths / 10:.1f}%"


def describe(document: Mapping[str, Mapping[str, Any]]) -> str:
    """The `availability` document in a line: "available 99.3% over 24 h (288 checks)
    · 97.9% over 7 d (2016 checks) · …"; a window without checks says so."""
    parts = []
    for name, _ in WINDOWS:
        share = document.get(name) or {}
        span = f"{name[:-1]} {name[-1]}"
        ratio, checks = share.get("ratio"), share.get("checks") or 0
        if ratio is None:
            parts.append(f"— over {span} (no checks)")
        else:
            plural = "check" if checks == 1 else "checks"
            parts.append(f"{percent(ratio)} over {span} ({checks} {plural})")
    if all(part.endswith("(no checks)") for part in parts):
        return f"no checks over the last {WINDOWS[-1][0][:-1]} {WINDOWS[-1][0][-1]}"
    return "available " + " · ".join(parts)
