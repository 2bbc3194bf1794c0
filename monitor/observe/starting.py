"""The start's phase and whether it moves, as /healthz and /readyz tell them.

`run` listens before it checks and migrates the database, so a probe can
tell a long start from a hung one: /healthz is 200 while the start makes
progress and 503 once it has stalled, /readyz 503 "starting: …" throughout.
Before, nothing answered until the database was ready, so the Kubernetes
startupProbe and the image's HEALTHCHECK had to wait an hour, and a start
hung on a stuck disk was left alone that long.

Progress is the measure systemd's start timeout uses (daemon/notify.py): the
bytes the process has read, which SQLite's check moves as it reads the file
(a probe's own request does not: sockets are read by recv, not counted). A
phase with no count (the migration, PostgreSQL's check) is progress while it
runs, for at most UNCOUNTED_MOST, as notify asks systemd for at most an hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from monitor.daemon.notify import CHECKING_STATUS, EXTEND_MOST

CHECKING = CHECKING_STATUS  # the unit's status line says the same
MIGRATING = "migrating"
# a start whose count has not moved for this long has stalled: long enough for a
# slow disk's hiccup, short beside the hour the probes waited before
STALL_AFTER = 60.0
UNCOUNTED_MOST = EXTEND_MOST  # a phase with no count: progress for this long at most

Progress = Callable[[], int | None]


def _uncounted() -> None:
    return None


class StartWatch:
    """The start's current phase (None once it is over) and its last progress.

    Looked at only when asked (a probe's request): a count that differs from
    the last look's moved. Runs on the event loop, as the start itself does."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        stall_after: float = STALL_AFTER,
        uncounted_most: float = UNCOUNTED_MOST,
    ) -> None:
        self.phase: str | None = None
        self._clock = clock
        self._stall_after = stall_after
        self._uncounted_most = uncounted_most
        self._progress: Progress = _uncounted
        self._last: int | None = None
        self._began = self._moved_at = clock()

    def begin(self, phase: str, progress: Progress | None = None) -> None:
        """A phase begins; `progress` counts its work (None: nothing counted)."""
        self.phase = phase
        self._progress = progress or _uncounted
        self._last = self._progress()
        self._began = self._moved_at = self._clock()

    def done(self) -> None:
        """The start is over: /healthz and /readyz answer as the running daemon's."""
        self.phase = None

    def stalled(self) -> str | None:
        """Why the start has stalled, or None while it moves (or is over)."""
        if self.phase is None:
            return None
        now = self._clock()
        count = self._progress()
        if count is None:
            if now - self._began > self._uncounted_most:
                return f"start stalled: {self.phase} for over {self._uncounted_most:.0f} s"
            return None
        if count != self._last:
            self._last, self._moved_at = count, now
            return None
        idle = now - self._moved_at
        if idle >= self._stall_after:
            return f"start stalled: no database progress for {idle:.0f} s"
        return None

    def status(self) -> str | None:
        """/readyz's line while starting ("starting: migrating"); None once started."""
        if self.phase is None:
            return None
        why = self.stalled()
        return f"starting: {self.phase}" + (f" ({why})" if why else "")
