"""Standard streams closed at start (`article-monitor keygen >&-`).

Python sets `sys.stdout` to None when descriptor 1 is closed: click then
drops everything it echoes (`keygen` made a key nobody could read and exited
0) and the rest crashed on `None.isatty()`. And the next file opened would
take descriptor 1 or 2, so whatever wrote there (a child process, a stray
print) would write into it, the database say. So: descriptors 0-2 are held
open on /dev/null, and a closed stdout is a stream whose every write fails
with an error that says what to do (exit 2 through the CLI's error handler).
And in Python's unbuffered mode a stream's every write must still be written
whole (WholeWrites, in monitor.whole_write).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import signal
import sys
from collections.abc import Iterator
from typing import Any

from monitor.whole_write import WholeWrites

CLOSED_STDOUT = "standard output is closed: redirect it to a file"
READER_GONE = "the output was closed by its reader (broken pipe), so it is cut short"


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
    sys.stdout, sys.stderr = _whole(sys.stdout), _whole(sys.stderr)


def _whole(stream: Any) -> Any:
    """`stream` itself, or, when it writes to a descriptor (a FileIO, buffered or
    raw as in unbuffered mode), the same text stream over WholeWrites."""
    layer = getattr(stream, "buffer", None)
    unbuffered = type(layer) is io.FileIO
    if not unbuffered and not (type(layer) is io.BufferedWriter and type(layer.raw) is io.FileIO):
        return stream
    stream.flush()
    raw = WholeWrites(layer.fileno(), "w", closefd=False)  # type: ignore[union-attr]
    raw.counted = not unbuffered  # a BufferedWriter counts a part written (WholeWrites)
    return io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=stream.line_buffering,
        write_through=unbuffered,
    )


def failed_stdout() -> str | None:
    """Why a write to standard output failed earlier, if one did (then it is
    silenced): the same words as a failed flush."""
    raw = _stdout_raw()
    exc = raw.failed if raw is not None else None
    if exc is None or isinstance(exc, BlockingIOError):
        return None
    quiet_stdout()
    if isinstance(exc, BrokenPipeError):
        return READER_GONE
    return f"standard output: {exc.strerror or exc}"


def is_stdout_failure(exc: OSError) -> bool:
    """Whether `exc` is the error a write to standard output met (kept by WholeWrites),
    whatever its errno: then it is said as standard output's (failed_stdout)."""
    raw = _stdout_raw()
    return raw is not None and raw.failed is exc


def _stdout_raw() -> WholeWrites | None:
    layer = getattr(sys.stdout, "buffer", None)
    raw = getattr(layer, "raw", layer)
    return raw if isinstance(raw, WholeWrites) else None


def stdout_closed() -> bool:
    return isinstance(sys.stdout, ClosedStdout)


def _to_devnull(fd: int) -> None:
    """Point descriptor `fd` at /dev/null: what is still buffered for it is dropped
    there instead of failing again at the interpreter's exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass


def quiet_stdout() -> None:
    """Standard output's reader is gone: what is still buffered would fail again at
    the interpreter's exit (`Exception ignored … BrokenPipeError` on stderr); it
    goes to /dev/null instead (the recipe of Python's `signal` documentation).
    A failed write it remembered is said once: here, by whoever silences it."""
    raw = _stdout_raw()
    if raw is not None:
        raw.failed = None
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    _to_devnull(fd)


def quiet_stderr() -> None:
    """Standard error cannot be written (`2>/dev/full`, its reader gone): so the
    interpreter's own flush at exit does not fail and turn the exit code into 120."""
    _to_devnull(2)


def stderr_broken() -> bool:
    """Whether a message written to standard error failed (it is still buffered,
    and flushing it fails again)."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        return True
    return False


def _click_saw_broken_pipe() -> bool:
    """click catches a broken pipe met while it parses (`--help`, `--version`
    written to `… | head -1`), wraps stdout to hide it and exits 1 silently."""
    return type(sys.stdout).__name__ == "_PacifyFlushWrapper"


@contextlib.contextmanager
def _stops_end_a_stuck_flush() -> Iterator[None]:
    """The commands hold SIGINT and SIGTERM blocked for the exit (hold_for_exit),
    so a final flush blocked on a pipe nobody reads could be ended by SIGKILL
    alone. During it a new stop signal ends the process (exit 130) if the pipe is
    still stuck; one already pending was the command's, answered, and is dropped."""
    from monitor.check.interrupt import STOP_SIGNALS, give_up_if_stuck

    stops = set(STOP_SIGNALS)
    while signal.sigpending() & stops:  # bounded: each call takes one off
        signal.sigtimedwait(stops, 0)
    previous = {sig: signal.signal(sig, lambda n, f: give_up_if_stuck(n)) for sig in stops}
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def flush_stdout() -> str | None:
    """Flush standard output before the process ends: what went wrong, or None. A
    block-buffered report (the usual case when stdout is a pipe or a file) is
    written only here: its reader gone (`… | head -1`) or its disk full
    (`> /dev/full`), the interpreter's own flush at exit said `Exception ignored`
    and exited 120, with the command's exit code lost."""
    if _click_saw_broken_pipe():
        quiet_stdout()
        return READER_GONE
    failed = failed_stdout()
    if failed is not None:
        return failed
    try:
        with _stops_end_a_stuck_flush():
            sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        return READER_GONE
    except OSError as exc:
        quiet_stdout()
        return f"standard output: {exc.strerror or exc}"
    except ValueError:  # closed: nothing is left to write
        pass
    return None


def stdout_undeliverable() -> str | None:
    """Why standard output cannot be written, if it cannot, after a write failed
    with EPIPE or ENOSPC somewhere: its pipe has no reader (poll says POLLERR), or
    what it still holds fails to flush; then it is silenced. None when standard
    output is fine: the error was another file's or socket's."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    if gone:
        quiet_stdout()
        return READER_GONE
    return flush_stdout()
