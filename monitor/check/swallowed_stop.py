"""A stop signal's exception swallowed by a finalizer, raised again where the code goes on.

Python cannot raise out of a finalizer (`__del__`, a weakref callback): the
exception goes to `sys.unraisablehook` and the code that dropped the object
goes on. Ending the process there (`os._exit`) skipped every `finally` on the
stack: `keygen` left its temporary key file (mode 0600) beside FILE. So the
same exception is raised again at the next instruction of the frame the
finalizer ran from, by a trace function, as a debugger stops at the next line:
a frame that is itself a finalizer swallows it again and hands it to the frame
below, and the first ordinary frame unwinds the stack as the signal's handler
would have. Only that frame is traced; frames started meanwhile (other
finalizers) run untraced, and the raise turns tracing off (a debugger's or
coverage's trace function is lost with it: the process is ending).

The last resort stays `os._exit(130)`: when the process has not ended within
`END_WITHIN_S` of the first swallow (the exception caught and dropped on its
way, the frame blocked in a call that does not return), or when finalizers
swallowed it `MAX_SWALLOWS` times. Never exit 0: the CLI's `main` asks
`settle()` at its end, and a stop swallowed on the way is an exit 130.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

EXIT_INTERRUPTED = 130  # as check.interrupt's (imported from there would be a cycle)
END_WITHIN_S = 5.0  # from the first swallow to the process's end, cleanups included
MAX_SWALLOWS = 100  # a finalizer that swallows it again each time (in a loop)

_swallows = 0
_settled: threading.Event | None = None  # the watchdog's, while one waits


def note(say: Callable[[], str]) -> None:
    """A finalizer swallowed the stop: the watchdog is set (once), and the process
    ends now if that happened too often. `say` gives the message the watchdog
    writes if it ends the process (empty when the handler has said it already)."""
    global _swallows
    _swallows += 1
    if _swallows > MAX_SWALLOWS or sys.is_finalizing():
        end_now(say())
    _watch(say)


def raise_at(frame: FrameType, exc: BaseException) -> None:
    """Raise `exc` at `frame`'s next instruction (after `note`)."""

    def reraise(traced: FrameType, event: str, arg: Any) -> None:
        raise exc.with_traceback(None)

    frame.f_trace = reraise
    frame.f_trace_opcodes = True  # at the next instruction, not the next line
    sys.settrace(_untraced)


def _untraced(frame: FrameType, event: str, arg: Any) -> None:
    """Frames that begin while the raise waits (other finalizers) are not traced."""


def _watch(say: Callable[[], str]) -> None:
    global _settled
    if _settled is not None:
        return
    settled = _settled = threading.Event()

    def watchdog() -> None:
        if not settled.wait(END_WITHIN_S):
            end_now(say())

    try:  # a daemon thread: the interpreter's end stops it
        threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()
    except RuntimeError:  # no new threads (the interpreter is ending): end it here
        end_now(say())


def end_now(message: str) -> NoReturn:
    """The last resort: exit 130 now, without the cleanups."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    if message:
        with contextlib.suppress(OSError):
            os.write(2, (message + "\n").encode(errors="backslashreplace"))
    os._exit(EXIT_INTERRUPTED)


def settle() -> bool:
    """The command is over: stop the watchdog, and say whether a finalizer
    swallowed a stop on the way (then the exit is 130, whatever the command said)."""
    global _swallows, _settled
    swallowed, _swallows = _swallows > 0, 0
    if _settled is not None:
        _settled.set()
        _settled = None
    return swallowed
