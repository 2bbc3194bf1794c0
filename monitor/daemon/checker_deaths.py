"""Whether the checker processes fail repeatedly, as /readyz and the status
pages' banner say it: a process that dies and is replaced now and then is
routine (a hang killed, a host that crashed its parser), but REPEATED deaths
within WINDOW seconds (a broken install that dies as it starts, memory that
kills them one after another) means checks are failing, and only the log said
so. A process that cannot be started at all is said until one is."""

from __future__ import annotations

from collections import deque

WINDOW = 600.0  # seconds: deaths counted over the last ten minutes
REPEATED = 3  # this many deaths within WINDOW: failing repeatedly
KEPT = 64  # the latest deaths kept (enough to count REPEATED within WINDOW)


class CheckerDeaths:
    """The checker processes' latest deaths (by the event loop's clock)."""

    def __init__(self, window: float = WINDOW, repeated: int = REPEATED) -> None:
        self.window = window
        self.repeated = repeated
        self._deaths: deque[float] = deque(maxlen=KEPT)
        self._last = ""  # how the latest one ended
        self._unstartable: dict[int, str] = {}  # process index → why it cannot start

    def died(self, at: float, how: str) -> None:
        self._deaths.append(at)
        self._last = how

    def cannot_start(self, b: int, why: str) -> None:
        self._unstartable[b] = why

    def started(self, b: int) -> None:
        self._unstartable.pop(b, None)

    def trouble(self, now: float) -> str | None:
        """Why the checker processes are failing, or None."""
        if self._unstartable:
            why = next(iter(self._unstartable.values()))
            return f"no checker process could be started: {why}"
        recent = sum(1 for at in self._deaths if now - at < self.window)
        if recent < self.repeated:
            return None
        return (
            f"{recent} checker processes ended and were replaced in the last "
            f"{self.window / 60:g} min (the latest: {self._last})"
        )
