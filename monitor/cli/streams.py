"""Standard streams closed at start (`article-monitor keygen >&-`).

Python sets `sys.stdout` to None when descriptor 1 is closed: click then
drops everything it echoes (`keygen` made a key nobody could read and exited
0) and the rest crashed on `None.isatty()`. And the next file opened would
take descriptor 1 or 2, so whatever wrote there (a child process, a stray
print) would write into it, the database say. So: descriptors 0-2 are held
open on /dev/null, and a closed stdout is a stream whose every write fails
with an error that says what to do (exit 2 through the CLI's error handler).
"""

from __future__ import annotations

import errno
import io
import os
import sys

CLOSED_STDOUT = "standard output is closed: redirect it to a file"


class ClosedStdout(io.TextIOBase):
    """sys.stdout when descriptor 1 was closed at start: writing is an error."""

    encoding = "utf-8"
    errors = "strict"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, CLOSED_STDOUT)

    def flush(self) -> None:
        pass


def guard_standard_streams() -> None:
    """Hold descriptors 0-2 open (on /dev/null) and make a closed stdout fail loudly."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdout is None:
        sys.stdout = ClosedStdout()
    if sys.stderr is None:  # `2>&-`: messages go nowhere, as asked, and not to stdout
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)


def stdout_closed() -> bool:
    return isinstance(sys.stdout, ClosedStdout)
