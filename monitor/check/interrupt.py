"""SIGINT and SIGTERM both mean "stop now and report what you have" (CONTRACT §2: exit 130).

A terminal's Ctrl-C and a service manager's SIGTERM end a `check` run the
same way: the run is cancelled at its next await, the report of what is
known is written (marked incomplete), and the command exits 130. Three
phases, because what a signal may safely do differs:

- before the run (settings, keys): nothing is written yet, so the signal
  raises `Interrupted` and the command says so and exits;
- during the run: the handler only schedules one cancellation of the run's
  task on its loop; it never raises in the middle of code, so a report being
  written is never torn. Later signals are ignored: the report of what is
  known is on its way, and every step of stopping is bounded;
- after the run: the signal is only remembered (the exit code says so).

Python-level handlers (not `loop.add_signal_handler`) so a signal is seen
before the loop exists and after it is closed, and the handlers restore
nothing to SIG_DFL behind our back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # asyncio only once a run begins: `stop_early` is on every command's path
    import asyncio

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, FrameType | None], Any] | int | None
EXIT_INTERRUPTED = 130  # the shell's 128 + SIGINT, for SIGTERM too (CONTRACT §2)


class EarlyExit(SystemExit):
    """The stop signal's exit, raised by its handler in whatever frame it interrupted.

    Python cannot raise out of a finalizer (`__del__`, a weakref callback): there
    it printed "Exception ignored in: ... Traceback" and the command went on as
    if no signal had come. `_unraisable` raises it again where the code goes on
    (swallowed_stop), so the command's cleanups run, and it ends with the status."""


class Interrupted(BaseException):
    """A stop signal arrived before the run began: there is nothing to report.

    A BaseException, like KeyboardInterrupt, so no `except Exception` on the
    way (settings, keys) turns it into a usage error."""

    def message(self) -> str:
        return f"interrupted ({self}) before the run began: nothing was checked, no report"


def wrapped_stop(exc: BaseException) -> EarlyExit | Interrupted | None:
    """The stop signal's exception inside `exc`, when Python 3.11 wrapped it: raised
    in a descriptor's `__set_name__` while a class was made (a dataclass field's,
    at an import), it comes out as `RuntimeError('Error calling __set_name__ ...')`
    from it, which was an "internal error" with a traceback and exit 70."""
    seen = 0
    while isinstance(exc, RuntimeError) and exc.__cause__ is not None and seen < 10:
        exc, seen = exc.__cause__, seen + 1  # a class made inside another's making
    return exc if isinstance(exc, (EarlyExit, Interrupted)) and seen else None


def hold_for_exit() -> bool:
    """Block the stop signals for the rest of the process, and say whether one
    is waiting. The interpreter puts the default handlers back while it shuts
    down, and SIGTERM's default is to die (status 143): a signal then would
    spoil the exit status of a run whose report is already written. Given back
    if another command begins in this process (`command_began`)."""
    global _holding_for_exit
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    _blocked_for_exit.update(set(STOP_SIGNALS) - set(before))
    _holding_for_exit = True
    return bool(signal.sigpending() & set(STOP_SIGNALS))


# What a command held for the process's exit (its blocked mask, the handlers it
# left in place), given back when another command begins in the same process:
# an in-process caller's second `main` (a test's CliRunner) was deaf to SIGINT
# and SIGTERM, blocked, or handled by a command that was over.
_blocked_for_exit: set[int] = set()
_holding_for_exit = False  # hold_for_exit was called (by this command)
_handlers_for_exit: dict[int, tuple[Handler, Handler]] = {}  # signal: (left, before)


def kept_for_exit(sig: int, left: Handler, before: Handler) -> None:
    """The command leaves `left` handling `sig` for the process's exit; `before`
    comes back if another command begins (and `left` is still in place)."""
    before = _handlers_for_exit.get(sig, (None, before))[1]  # the first command's before
    _handlers_for_exit[sig] = (left, before)


def ignore_for_exit(sig: int, before: Handler) -> None:
    """Ignore the stop signal `sig` until the process exits (a daemon's stop is
    under way or over); `before` comes back if another command begins."""
    signal.signal(sig, _ignored_for_exit)
    kept_for_exit(sig, _ignored_for_exit, before)


def _ignored_for_exit(signum: int, frame: FrameType | None) -> None:
    """A stop signal once the command's stop is under way or over: the first is acted on."""


def _give_back_exit_holds() -> None:
    """Another command begins: the stop signals are heard again. One that came
    while they were blocked was the last command's (its exit code said so).
    Only on the main thread, the one signals are set on and delivered to: a
    command an in-process caller begins on another (a test's `to_thread`) leaves
    them held, for the next command on the main thread."""
    global _holding_for_exit
    if threading.current_thread() is not threading.main_thread():
        return
    _holding_for_exit = False
    for sig, (left, before) in _handlers_for_exit.items():
        if signal.getsignal(sig) == left:  # == : a bound method is a new object each time
            signal.signal(sig, before if before is not None else signal.SIG_DFL)
    _handlers_for_exit.clear()
    if _blocked_for_exit:
        for _ in range(len(_blocked_for_exit)):  # bounded: one of each at most is pending
            if signal.sigpending() & _blocked_for_exit:
                signal.sigtimedwait(_blocked_for_exit, 0)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _blocked_for_exit)
        _blocked_for_exit.clear()


def holding_for_exit() -> bool:
    """Whether the command holds the stop signals blocked for the process's exit."""
    return _holding_for_exit


def stdout_stuck() -> bool:
    """Whether standard output is a pipe (or socket) that cannot take a byte now:
    its reader stopped reading (`… | pager` with the pager stopped or gone)."""
    import select

    try:
        poller = select.poll()
        poller.register(1, select.POLLOUT)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def give_up_if_stuck(signum: int) -> None:
    """A stop signal after the first while the report waits for a reader that does
    not read: the write would block forever with the signal only noted (SIGKILL
    alone ended it). The user insists: exit 130 now, the report cut short."""
    if stdout_stuck():
        name = signal.Signals(signum).name
        message = (
            f"article-monitor: interrupted ({name}) while standard output was not "
            "being read: the report is cut short\n"
        )
        with contextlib.suppress(OSError):
            os.write(2, message.encode())
        os._exit(EXIT_INTERRUPTED)


_running: str | None = None  # the command under way, once the CLI has chosen it


def command_began(words: str) -> None:
    """Commands that keep `stop_early`'s handler (status, grafana push, db
    upgrade...) are stopped by it mid-way: the message must not say they never
    began. A command before it in this process held the stop signals for an
    exit that did not come: they are heard again."""
    global _running
    _running = words
    _give_back_exit_holds()


def _exit_early(signum: int, frame: FrameType | None) -> None:
    hold_for_exit()
    name = signal.Signals(signum).name
    when = f"during `{_running}`" if _running else "before the command began"
    sys.stderr.write(f"article-monitor: interrupted ({name}) {when}\n")
    loop = _running_loop()
    if loop is not None:
        # Raised here, inside one of the loop's task steps (a daemon's start serving
        # /healthz), SystemExit was also kept by that task, logged at exit as "Task
        # exception was never retrieved" with a traceback. Raised by a callback of
        # the loop's own, it ends the run as from an idle loop: the start's loop
        # keeps its blocking work on threads, so the callback comes at once.
        loop.call_soon_threadsafe(_exit_interrupted)
        return
    raise EarlyExit(EXIT_INTERRUPTED)


def _exit_interrupted() -> None:
    raise EarlyExit(EXIT_INTERRUPTED)


def _unraisable(args: Any) -> None:
    """The handler's exception swallowed by a finalizer: raised again where the
    code goes on (swallowed_stop), so the command's cleanups run as for any
    stop (an `os._exit` here left keygen's temporary key file behind); an exit
    130 all the same if it does not end. `check`'s `Interrupted` too: it went on,
    cancelled its run at once and wrote an empty report marked incomplete (over
    `-o FILE`), or with --offline exited 1 with a traceback."""
    exc = args.exc_value
    if not isinstance(exc, (EarlyExit, Interrupted)):
        _unraisable_before(args)
        return
    from monitor.check import swallowed_stop

    def say() -> str:  # EarlyExit's handler has said it already
        return exc.message() if isinstance(exc, Interrupted) else ""

    swallowed_stop.note(say)
    loop = _running_loop() if isinstance(exc, EarlyExit) else None
    if loop is not None:  # as in _exit_early: by a callback of the loop's own
        loop.call_soon_threadsafe(_exit_interrupted)
        return
    try:
        frame = sys._getframe(1)  # where the finalizer ran from
    except ValueError:  # none: the interpreter is ending
        swallowed_stop.end_now(say())
    swallowed_stop.raise_at(frame, exc)


_unraisable_before = sys.unraisablehook


def swallowed_on_the_way() -> bool:
    """At a command's end (the CLI's `main`): whether a finalizer swallowed a stop
    signal's exception on the way, so the exit is 130 whatever the command said."""
    module = sys.modules.get("monitor.check.swallowed_stop")
    return module is not None and bool(module.settle())


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if asyncio is loaded at all (it is
    not imported for this: `stop_early` is on every command's path)."""
    # getattr: a signal while asyncio imports finds asyncio.events half made (an
    # AttributeError here was an "internal error" and exit 70); no loop runs yet
    running = getattr(sys.modules.get("asyncio.events"), "_get_running_loop", None)
    if running is None:
        return None
    loop: asyncio.AbstractEventLoop | None = running()
    return None if loop is None or loop.is_closed() else loop


def stop_early() -> None:
    """From process start until a command takes the signals over: SIGINT or
    SIGTERM exits 130 with a message (not click's "Aborted!" and exit 1, not a
    traceback from an import, not SIGTERM's silent death)."""
    _give_back_exit_holds()  # an in-process caller's second command
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(sig, _exit_early)
    sys.unraisablehook = _unraisable


class NotedStop:
    """SIGINT or SIGTERM noted for a synchronous loop that stops at its next step
    (verify, sign --in-place: nothing is torn by a flag). A later one while the
    report waits for a reader that does not read ends the process (exit 130)."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        else:
            give_up_if_stuck(signum)

    def install(self) -> dict[int, Any]:
        """Take the stop signals over; return the handlers they had (given back
        if another command begins in this process, when the caller did not)."""
        previous: dict[int, Any] = {sig: signal.signal(sig, self) for sig in STOP_SIGNALS}
        for sig, before in previous.items():
            kept_for_exit(sig, self, before)
        return previous


class StopSignals:
    """Turns SIGINT and SIGTERM into one cancellation of the run's task."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first stop signal, if any
        self.armed = False  # the run has begun: cancel it, never raise
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    @property
    def interrupted(self) -> bool:
        return self.received is not None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signum
        else:
            give_up_if_stuck(signum)
        if not self.armed:
            if first:  # a later one: the first's exit is on its way (raised again
                # inside its answer, it was a traceback and exit 1)
                raise Interrupted(signal.Signals(signum).name)
            return
        if first:
            self._cancel_soon()

    def _cancel_soon(self) -> None:
        loop, task = self.loop, self.task
        if loop is None or task is None or task.done() or loop.is_closed():
            return  # not attached yet (attach cancels), or the run is over
        try:
            loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:  # the loop closed under us: the run is over
            pass

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done() and not self.cancelled:
            self.cancelled = True
            self.task.cancel()

    def arm(self) -> None:
        """From now on a signal cancels the run instead of raising."""
        self.armed = True

    def attach(self) -> None:
        """Called first thing in the run's task: a signal cancels this task.

        A signal that came between `arm` and here cancels it at its first wait
        (inside the run, so the partial report is still written): by a callback,
        as a signal during the run does. Cancelled here, a run that never waits
        (--offline) ended its task cancelled after writing the whole report:
        a CancelledError traceback and exit 1.
        """
        import asyncio

        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        if self.received is not None:
            self.loop.call_soon(self._cancel)

    def detach(self) -> None:
        """The run is over: signals from now on are only remembered."""
        self.task = None
        self.loop = None

    def install(self) -> dict[int, Handler]:
        """Handle both signals from now on; returns the handlers replaced.

        The command never puts them back: a signal while the process exits
        must not kill it with the default action (SIGTERM's exit 143). Another
        command beginning in this process gets them back (`kept_for_exit`)."""
        previous: dict[int, Handler] = {}
        for sig in STOP_SIGNALS:
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._on_signal)
            kept_for_exit(sig, self._on_signal, previous[sig])
        return previous

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """For an in-process caller: the previous handlers come back afterwards."""
        previous = self.install()
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
