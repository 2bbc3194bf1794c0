"""Writing every byte of a buffer to a descriptor: the one loop that the standard
streams (WholeWrites: the CLI's, monitor.cli.streams, and a checker process's
stderr), key files and signed documents use.

write(2) may write part of a buffer (a stop while blocked on a full pipe), so
the rest is written in a loop. A real descriptor never takes nothing for a
non-empty buffer, but a FUSE file system or a broken driver can, and the loop
then spun for ever at full CPU: after NO_PROGRESS_LIMIT writes in a row that
took nothing, the write fails (EIO) instead.
"""

from __future__ import annotations

import errno
import io
import select
from collections.abc import Callable
from pathlib import Path
from typing import Any

NO_PROGRESS_LIMIT = 3
NO_PROGRESS = "the file took none of the bytes written to it, 3 times in a row (a broken device?)"


def write_all(
    write_once: Callable[[memoryview], int | None], data: Any, fd: int, *, partial: bool = False
) -> int:
    """Write all of `data` through `write_once` (one write(2) to `fd`, which returns
    the count, or None for a full non-blocking descriptor: then `fd` is waited for).
    Raises OSError(EIO) when the descriptor keeps taking nothing. `partial`: an
    error after some bytes went out returns their count instead (a caller that
    counts, a BufferedWriter, keeps the rest, and its next write meets the error)."""
    view = memoryview(data).cast("B")
    done = 0
    idle = 0
    while done < len(view):
        try:
            wrote = write_once(view[done:])
        except OSError:
            if partial and done:
                return done
            raise
        if wrote is None:  # O_NONBLOCK and full: wait until it takes more
            wait_writable(fd)
            continue
        if wrote <= 0:
            idle += 1
            if idle >= NO_PROGRESS_LIMIT:
                if partial and done:
                    return done
                raise OSError(errno.EIO, NO_PROGRESS)
            continue
        idle = 0
        done += wrote
    return done


def wait_writable(fd: int) -> None:
    """Block until `fd` takes more (or has an error, which the next write meets).
    poll(2), not select(2): select refuses a descriptor of 1024 or more
    (FD_SETSIZE; ValueError), and a daemon with a raised limit has those."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll()


class WholeWrites(io.FileIO):
    """A descriptor whose `write` writes every byte it is given, and which keeps
    the error that stopped it.

    Python's unbuffered standard streams (`-u`, PYTHONUNBUFFERED=1, which the
    container image sets) write through a raw FileIO: one write(2), whose
    count the text layer ignores. A write blocked on a full pipe and
    interrupted by a stop (Ctrl-Z then `fg`, SIGSTOP, `docker pause`) returns
    part of its bytes, and the rest of a report was silently dropped (18 MB
    written, 13.5 MB read). Here the rest is written too; a non-blocking
    descriptor that is full is waited for.

    A report longer than a buffer (or any, unbuffered) fails in a write in the
    middle of a command, not in the final flush that names the stream: the
    error is kept (`failed`) so the user reads `standard output: …` either way
    (monitor.cli.streams.flush_stdout). A descriptor that keeps taking nothing
    (a broken FUSE file) fails with EIO rather than spinning for ever."""

    failed: OSError | None = None
    # Under a BufferedWriter, which counts what was written: an error after part
    # of a write returns that part, and the next write meets the error. Raised,
    # the writer kept its whole buffer and wrote the part a second time. The text
    # layer of unbuffered mode ignores counts: there the error is raised.
    counted = False

    def write(self, data: Any) -> int:
        try:
            return write_all(self._write_once, data, self.fileno(), partial=self.counted)
        except OSError as exc:  # a device that keeps taking nothing too (write_all)
            self.failed = exc
            raise

    def _write_once(self, view: memoryview) -> int | None:
        """One write(2): the count, or None when a non-blocking descriptor is full."""
        return super().write(view)


def whole_text(
    file: int | str | Path,
    *,
    closefd: bool = True,
    encoding: str = "utf-8",
    errors: str | None = None,
    line_buffering: bool = False,
) -> io.TextIOWrapper:
    """A text stream writing to `file` (a path, created or emptied as open() does,
    or a descriptor) through WholeWrites: open()'s BufferedWriter over a plain
    FileIO retries a write that took nothing for ever (CPython's flush loop)."""
    raw = WholeWrites(file, "w", closefd=closefd)
    raw.counted = True
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=errors, line_buffering=line_buffering
    )
