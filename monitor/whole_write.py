"""Writing every byte of a buffer to a descriptor: the one loop that the standard
streams (monitor.cli.streams), key files and signed documents use.

write(2) may write part of a buffer (a stop while blocked on a full pipe), so
the rest is written in a loop. A real descriptor never takes nothing for a
non-empty buffer, but a FUSE file system or a broken driver can, and the loop
then spun for ever at full CPU: after NO_PROGRESS_LIMIT writes in a row that
took nothing, the write fails (EIO) instead.
"""

from __future__ import annotations

import errno
import select
from collections.abc import Callable
from typing import Any

NO_PROGRESS_LIMIT = 3
NO_PROGRESS = "the file took none of the bytes written to it, 3 times in a row (a broken device?)"


def write_all(write_once: Callable[[memoryview], int | None], data: Any, fd: int) -> int:
    """Write all of `data` through `write_once` (one write(2) to `fd`, which returns
    the count, or None for a full non-blocking descriptor: then `fd` is waited for).
    Raises OSError(EIO) when the descriptor keeps taking nothing."""
    view = memoryview(data).cast("B")
    done = 0
    idle = 0
    while done < len(view):
        wrote = write_once(view[done:])
        if wrote is None:  # O_NONBLOCK and full: wait until it takes more
            select.select([], [fd], [])
            continue
        if wrote <= 0:
            idle += 1
            if idle >= NO_PROGRESS_LIMIT:
                raise OSError(errno.EIO, NO_PROGRESS)
            continue
        idle = 0
        done += wrote
    return done
