"""How fast checks end, so the dispatcher claims no more ahead than it can check
within a part of a lease.

With checker processes the dispatcher claims targets ahead of the running
checks (dispatch.py's `capacity`), so the processes never run dry. Ahead by a
count alone, a corpus of slow hosts behind their per-host limits (a few
checks a second) holds claims queued for longer than `lease_seconds`: they
expire before their check starts, are claimed again, and go to the back of
the queue. Ahead by the time the recent rate takes to drain them, they never
wait longer than that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WINDOW = 5.0  # seconds of ended checks per measure
FIRST = 1.0  # seconds before the first measure counts


class Pace:
    """Checks ended per second, over the last whole window (or the current one
    once it is FIRST seconds old); None before that."""

    __slots__ = ("_clock", "_count", "_last", "_start")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start = clock()
        self._count = 0
        self._last: float | None = None

    def ended(self) -> None:
        self._count += 1

    def rate(self) -> float | None:
        now = self._clock()
        elapsed = now - self._start
        if elapsed >= WINDOW:
            self._last = self._count / elapsed
            self._start, self._count = now, 0
            return self._last
        if self._last is not None:
            return self._last
        return self._count / elapsed if elapsed >= FIRST else None


# With checker processes, claimed targets queued per running check: enough that
# the processes never run dry while results travel back, the next claim waits
# its turn on the database thread behind a result write and its targets travel
# out (a round of ~50-150 ms). Held at 3x concurrency in all, the processes'
# queues were empty 40% of the time and `run` kept ~77 of 128 requests in
# flight (3,800 checks/s); 6x: 1%; 8x: never (4,630 checks/s, 94 in flight;
# bench/README.md, "The daemon (fourth session)"). While the first corpus scan
# writes, a claim's round is 250-400 ms (it waits behind the scan's batches and
# a result write, the scan holding the GIL): 7x ahead (896 of 128) drains in
# ~200 ms, and `run --once` checked 1,000-3,000 a second until the scan ended;
# 16x gives 3,300-3,900. 16x was reverted once (seventh session): at a stop the
# cancels of queued checks reached a checker process behind the request frames
# still in its pipe, so the deeper the queue, the more requests went out after
# SIGTERM (1,216 at concurrency 1024). A checker process now reads every frame
# as it arrives and a cancel applies at once (worker_input.py), and a stop
# signal to the group skips its queue (tests/acceptance/test_run_stop_no_new_requests.py).
QUEUED_AHEAD = 16
LEASE_SHARE = 4  # ... but no more than the recent rate checks in lease_seconds / this


def queued_ahead(concurrency: int, rate: float | None, lease_seconds: float) -> int:
    """Claims to hold queued in checker processes beyond the `concurrency` they run."""
    most = QUEUED_AHEAD * concurrency
    return ahead(most, concurrency, rate, lease_seconds / LEASE_SHARE)


def ahead(most: int, least: int, rate: float | None, horizon: float) -> int:
    """Targets to hold queued beyond the running checks: `most`, but no more than
    `rate` drains in `horizon` seconds, and at least `least`; `least` until a
    rate is known (a slow start must not fill the queue for a whole lease)."""
    if rate is None:
        return least
    return max(least, min(most, int(rate * horizon)))
