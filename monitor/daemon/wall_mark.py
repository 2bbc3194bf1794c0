"""The honest wall clock's mark (SQLite): how far the clock can honestly have got
(`WallSince.now()`), stored in `meta` with the boot it was read in and that boot's
steady clock, so that the next start of the daemon counts on from it.

Without it a start took the newest result stored for the honest time. A daemon
that ran on a clock a year ahead had stamped its results there: restarted with
the clock still ahead, it counted retention from them and purged all history.
And a daemon stopped for days kept that many more days of results until its
next start. The steady clock (CLOCK_BOOTTIME) tells how long a stop within one
boot lasted; across a reboot nothing local does, so the clock is trusted for a
day past the mark and no further.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from monitor.storage.marks import read_mark

WALL_MARK = "wall_bound"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_BOOT_ID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
_NO_BOOT = "-"
# after a reboot, the clock is trusted this far past the last honest time stored
REBOOT_TRUSTED_MS = 86_400_000
# no honest time is earlier: a mark below it was written by hand or garbled
# (`0 - 0` held retention at 1970 for good), or stored while the clock read 1970
# (a machine with no clock of its own, before NTP)
PLAUSIBLE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, this release's year


class Origin(Enum):
    """Where a daemon's bound started from: said when the clock runs far past it."""

    NEWEST = "the newest result stored at the daemon's start"
    THIS_BOOT = "the honest time stored before this start"
    LAST_BOOT = "the last honest time stored before the machine restarted"


@dataclass(frozen=True, slots=True)
class Mark:
    bound_ms: int  # the honest wall clock then
    boot: str | None  # the boot it was read in (Linux's boot_id); None: unknown
    boot_ms: int  # the boot's steady clock (CLOCK_BOOTTIME) then


def boot_id() -> str | None:
    """This boot's identity, None where there is none (or no boot-time clock to go
    with it: a steady clock that stops in suspend cannot tell a stop's length)."""
    if not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    try:
        text = BOOT_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _BOOT_ID.fullmatch(text) else None


def encode(mark: Mark) -> str:
    return f"{mark.bound_ms} {mark.boot or _NO_BOOT} {mark.boot_ms}"


def decode(value: str | None) -> Mark | None:
    """The mark stored, None when absent or not what this version writes (written
    by hand, cut short): the start then counts as before the mark existed."""
    if value is None:
        return None
    parts = value.split(" ")
    if len(parts) != 3:
        return None
    bound, boot, steady = read_mark(parts[0]), parts[1], read_mark(parts[2])
    if bound is None or steady is None:
        return None
    if boot != _NO_BOOT and not _BOOT_ID.fullmatch(boot):
        return None
    return Mark(bound, None if boot == _NO_BOOT else boot, steady)


def start_from(
    wall: int, newest: int | None, mark: Mark | None, boot: str | None, boot_ms: int
) -> tuple[int, Origin]:
    """The honest wall clock at a start. Pure.

    - No mark (the first start of a version that stores it), a mark before
      PLAUSIBLE, or no boot identity here: the newest result stored, the clock
      if none, as before marks. Without a boot identity a stop's length is
      unknown at every start: a day's trust at each (below) let a cron job of
      `run --once` every 5 minutes walk the mark a year ahead in 30 hours.
    - A mark from this boot: the mark plus the steady time since, however long
      the daemon was stopped, whatever the clock and the results say.
    - A mark from another boot (or one stored without a boot identity): the mark, plus up to a day
      the clock says passed (REBOOT_TRUSTED). How long the machine was down is
      unknown: counting from the mark alone kept every reboot's downtime for
      good (a machine off every night held 8 more hours of results a day,
      without end), and trusting the clock wholly purged all history when it
      was set a year ahead. A day's trust ends both: a clock that far ahead
      purges at most a day of the oldest results early, a machine down longer
      than a day keeps the rest of its downtime (said once).

    The newest result is never taken over a mark, even when it is newer: results
    past the honest time were stamped by a clock that ran ahead, and counting
    from them purged all history at a restart. They are kept until the honest
    time passes them by the retention.
    """
    if mark is None or mark.bound_ms < PLAUSIBLE_MS or boot is None:
        return (wall if newest is None else newest), Origin.NEWEST
    if boot is not None and boot == mark.boot and boot_ms >= mark.boot_ms:
        return mark.bound_ms + (boot_ms - mark.boot_ms), Origin.THIS_BOOT
    return max(mark.bound_ms, min(wall, mark.bound_ms + REBOOT_TRUSTED_MS)), Origin.LAST_BOOT
