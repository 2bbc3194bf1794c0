"""The cluster's clock stepped back: the due times set while it ran ahead are pulled in.

A clock that ran ahead (by a day, say) and was then set right left every
target checked meanwhile due a day late: its next check had been set to the
clock's time plus the interval. The heartbeat (daemon/cluster.py) watches
the clock it gives the dispatcher: a reading below the highest one seen, by
more than SLACK_MS, is a step back, and the due queue is then walked, one
page a beat, for due times beyond any check's delay (storage/schedule.py).
The first reading is held to the last check recorded (never beyond the
cluster's clock: storage/queue_sql.py), the furthest due time less any
check's delay and the furthest lease end less two leases, so a daemon stopped
while the clock ran ahead and started after it was set right sees the step
too, even if that run recorded nothing; a last check that cannot be read is
no witness of "no step": the queue is walked as after one. A member started
beside live ones reads no witness: their heartbeats watched the clock. The walk is made
twice: results decided before the step and written after the first walk
(the writer's queue) are caught by the second. A host's shared backoff stored
on the clock ahead is dropped at the step too (storage/cluster.py
`share_backoff`): it held the host back for the whole step.
A lease taken on the clock ahead ends the step ahead as well: one whose holder
never records (it died, its result was dropped) kept its target unchecked for
the whole step. `lease_seconds` after the step (a live holder has recorded by
then) the leases still ending beyond a lease's length are made to run out; at
once when the step is seen at the start (no holder lives in this process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Settings
from monitor.storage.marks import read_mark, stored_ms
from monitor.storage.opening import first_line
from monitor.storage.repository import LAST_CHECK_KEY, Repository
from monitor.vocabulary import Kind

log = logging.getLogger("monitor.daemon")

# a step back smaller than this is left alone: a target is late by that much at most.
# A false alarm (the members' own clocks stamp results) costs one read of the queue
SLACK_MS = 60_000
WALKS = 2
_BY_LAST = "the clock stepped back %.0f s"
_BY_DUE = (
    "a due time is stored %.0f s beyond any check's delay (the clock stepped back while "
    "the daemon was stopped, or the intervals were shortened)"
)
_BY_LEASE = (
    "a lease ends %.0f s beyond two leases from now (the clock stepped back while the "
    "daemon was stopped)"
)


def _steady() -> float:
    return time.monotonic()


def schedule_bounds(s: Settings) -> dict[str, int]:
    """The furthest ahead (ms) a check schedules a target of each kind: its interval
    spread by the jitter (a failing target's backoff is shorter), plus a second."""
    return {
        kind.value: int(s.interval_for(kind) * (1 + s.interval_jitter) * 1000) + 1000
        for kind in Kind
    }


def backoff_horizon_ms(s: Settings) -> int:
    """The furthest a host's backoff learned here ends from now (ms), plus a second:
    a shared one ending later, seen at a step back, was stored on the clock ahead."""
    return int(max(s.retry_after_max, s.backoff_max) * 1000) + 1000


def lease_horizon_ms(s: Settings) -> int:
    """The furthest a lease taken now ends (ms), plus the slack: one ending later, a
    lease's length after a step back, was taken on the clock ahead."""
    return int(s.lease_seconds * 1000) + SLACK_MS


class PassStamp:
    """A corpus pass's stamp: the clock's reading at its start, so that all it stores
    is due at one time (`run --once`'s cutoff is taken after it), but lowered to a
    later reading once the clock has stepped back: a long first scan stored the
    files after a step with the stamp from before it, due the whole step late, and
    after the heartbeat's walks. `stepped`: the pass saw a step, so the due queue is
    walked once more after it (a file stored meanwhile may have missed the walks)."""

    def __init__(self, start: int, clock: Callable[[], int]) -> None:
        self.start = self.low = start
        self._clock = clock

    def now(self) -> int:
        self.low = min(self.low, self._clock())
        return self.low

    @property
    def stepped(self) -> bool:
        return self.now() + SLACK_MS < self.start


class ClockWatch:
    """Called at each heartbeat, on its thread, with the clock's reading."""

    def __init__(self) -> None:
        self._high: int | None = None  # the highest reading seen
        self._walks = 0  # walks of the queue still to make
        self._from: tuple[int, int] | None = None  # where the walk goes on
        self._moved = 0  # targets pulled in by this walk
        self._leases_at: int | None = None  # when to expire the leases taken ahead
        self._again = False  # a walk asked for after a corpus pass that saw a step

    def walk_again(self) -> None:
        """Walk the due queue once more, from its back, once the walk under way ends:
        a corpus pass stored targets stamped before a step it saw (PassStamp)."""
        self._again = True

    def beat(
        self, repo: Repository, now: int, settings: Settings, *, watched: bool = False
    ) -> bool:
        """True when this reading is a step back (the heartbeat then drops the hosts'
        backoffs stored on the clock ahead). `watched`: other members are live, and
        their heartbeats watched the cluster's clock all along: the start reads no
        witness (one with a lease over twice ours, or longer intervals, made every
        other member's start see a false step and expire its live leases)."""
        stepped = False
        starting = self._high is None
        try:
            unknown = False  # the stored last check unreadable: a step unseen is possible
            said = _BY_LAST
            if self._high is None and watched:
                self._high = now
            if self._high is None:
                seen, said = self._witness(repo, settings)
                unknown = seen is None
                self._high = now if seen is None else max(now, seen)
            if unknown or now + SLACK_MS < self._high:
                if not unknown:
                    log.warning(
                        said + ": due times and host backoffs set while it ran ahead are pulled in",
                        (self._high - now) / 1000,
                    )
                self._walks, self._from, self._moved, stepped = WALKS, None, 0, True
                self._high = now
                # seen at the start, no holder of ours lives (a killed `run --once`'s
                # leases, and its next pass ends before lease_seconds): at once
                self._leases_at = now if starting else now + lease_horizon_ms(settings)
            self._high = max(self._high, now)
            if self._again and not self._walks:
                self._walks, self._from, self._moved, self._again = 1, None, 0, False
            self._walk(repo, now, settings)
            # at the start nothing claims before this beat ends: the first walk is made
            # whole (`run --once` ended before a page a beat had walked the queue, and
            # its results, stamped on the clock set right, hid the step from the next)
            # (a cluster's member within a third of the timeout, or the others count it
            # dead before its second beat: the rest goes on a page a beat)
            ends = _steady() + settings.cluster_timeout / 3
            while starting and self._from is not None:
                if repo.dialect == "postgresql" and _steady() >= ends:
                    break
                self._walk(repo, now, settings)
            if self._leases_at is not None and now >= self._leases_at:
                if expired := repo.expire_leases_ahead(now, lease_horizon_ms(settings)):
                    log.info("%d leases taken while the clock ran ahead run out now", expired)
                self._leases_at = None
        except SQLAlchemyError as exc:  # the heartbeat's own write says the rest
            log.warning(
                "cannot pull in the due times set on a clock ahead: %s; retrying", first_line(exc)
            )
        return stepped

    def _walk(self, repo: Repository, now: int, settings: Settings) -> None:
        if not self._walks:
            return
        page = repo.pull_in_page(now, schedule_bounds(settings), self._from)
        self._moved += page.moved
        self._from = page.rest
        if page.rest is not None:
            return
        log.info("%d targets due too far ahead were pulled in", self._moved)
        self._walks = self._walks - 1 if self._moved else 0
        self._moved = 0

    def _witness(self, repo: Repository, settings: Settings) -> tuple[int | None, str]:
        """How far the clock that stored the schedule had got, at least: the last check
        recorded (the cluster's clock), the furthest due time less the longest delay
        a check sets, the furthest lease end less two leases (a member may run with a
        longer one). A run on a clock ahead that stored or claimed targets but
        recorded nothing left only the latter two. None: the last check is unreadable,
        so a step while stopped cannot be ruled out (said once). With the log line's
        start: which witness saw the step."""
        value = repo.get_meta(LAST_CHECK_KEY)
        high = repo.schedule_high()
        due, until = (stored_ms(v) for v in high)
        if (due, until) != high:  # text written by hand into an integer column (SQLite)
            log.warning(
                "the furthest due time or lease end stored is not a time (%.40r): it is no "
                "witness of a step back",
                high,
            )
        seen = [(0, "")]
        if due is not None:
            longest = max(schedule_bounds(settings).values())
            seen.append((due - longest, _BY_DUE))
        if until is not None:
            seen.append((until - 2 * int(settings.lease_seconds * 1000), _BY_LEASE))
        last = 0 if value is None else read_mark(value)
        if last is not None:
            seen.append((last, _BY_LAST))
        else:
            log.warning(  # once: read at the first reading only
                "the last check stored is unreadable (%.40r): whether the clock stepped "
                "back while the daemon was stopped is unknown, so due times and leases "
                "set on a clock ahead are looked for as after a step",
                value,
            )
            return None, ""
        return max(seen)
