"""The daemon's signals: SIGTERM/SIGINT stop it, SIGHUP reloads it, SIGUSR1 and
SIGUSR2 are ignored with a warning (SIGUSR2 is its word to its checker
processes: hup.ignore_stray_stops); those that came while its handlers were not
in place (the start, the stop's end) are counted and logged once each, when
the handlers are put in place or when `run`'s daemon has ended.

SIGHUP is held from `run`'s first line (prestart.reloads_held, hup.py) and let
through only once the handler is in place; reloads take turns, and SIGHUPs
that come while one waits are that one.

SIGTERM and SIGINT get Python-level handlers, as `check`'s do (check/interrupt.py),
not the loop's: removing a loop handler puts SIG_DFL back (or, for SIGINT,
KeyboardInterrupt), so a second signal while the stop ended (writer, cluster
leave, listener) killed the daemon (status 143, "stopped" never said) or
raised into the cleanup (a traceback, "Aborted!", exit 1). `timeout` sends
SIGTERM twice, an impatient user presses Ctrl-C twice. The first stops the
daemon; later ones are ignored, from `remove` until the process exits (`run`
holds them blocked for its exit) or another command begins in it. A daemon
that stopped for another reason gets the handlers it had before back (a
library caller's, a test's), unless the process ends with it (`run`, inside
`process_ends_with_daemon`): a stop signal in
`run`'s exit, after a `--once` pass that ended by itself, reached the command's
early handler, which said "interrupted during `run`" of a run that had ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from types import FrameType
from typing import Any

from monitor.check.interrupt import ignore_for_exit, kept_for_exit
from monitor.daemon.hup import USER_SIGNALS, take_unheard
from monitor.daemon.prestart import release_reloads

log = logging.getLogger("monitor.daemon")

STOPS = (signal.SIGTERM, signal.SIGINT)


_ends_process = False  # `run`: nothing follows the daemon but the exit
_installed = False  # the daemon's handlers were put in place (since `run` began)


@contextlib.contextmanager
def process_ends_with_daemon() -> Iterator[None]:
    """While inside, a daemon that stops leaves the stop signals ignored until
    the process exits, or until another command begins in it (interrupt.ignore_for_exit).
    At the end, SIGUSR1 and SIGUSR2 that came since the daemon's stop (or during a
    start that never put its handlers in place) are logged, once each."""
    global _ends_process, _installed
    _ends_process, _installed = True, False
    try:
        yield
    finally:
        _ends_process = False
        say_unheard("during the stop" if _installed else "during the start")
        _ignored_for_exit()


def _ignored_for_exit() -> None:
    """SIGUSR1, SIGUSR2 and SIGHUP ignored by the kernel from the daemon's end:
    the interpreter's shutdown puts the default action back for a Python handler
    (the count's), and a SIGHUP held during the stop was let through at SIG_DFL
    (the loop's handler removed): each ended a daemon that had stopped cleanly
    (status 138, 129). SIG_IGN the interpreter leaves in place. Another command
    beginning in the process gets the handlers back (interrupt.kept_for_exit)."""
    for sig in (*USER_SIGNALS, signal.SIGHUP):
        kept_for_exit(sig, signal.SIG_IGN, signal.signal(sig, signal.SIG_IGN))


def _why(sig: signal.Signals) -> str:
    if sig == signal.SIGUSR2:
        return "it is the daemon's word to its checker processes"
    return "logs go to stderr, there are no files to reopen"


def say_unheard(when: str) -> None:
    """SIGUSR1 and SIGUSR2 counted while the daemon's handlers were not in place
    (hup.ignore_stray_stops): one warning each, with the count if several came."""
    for signum, count in sorted(take_unheard().items()):
        sig = signal.Signals(signum)
        times = f" x{count}" if count > 1 else ""
        log.warning(
            "%s ignored%s %s: %s (SIGHUP reloads, SIGTERM stops)", sig.name, times, when, _why(sig)
        )


def _ignored(sig: signal.Signals, loop: asyncio.AbstractEventLoop) -> Callable[[int, Any], None]:
    """A Python-level handler, as for the stop signals: a loop handler is removed
    by setting SIG_DFL, and SIGUSR1's and SIGUSR2's default ends the process (a
    `systemctl kill -s USR1` in that moment of the stop ended the daemon)."""

    def warn() -> None:
        log.warning("%s ignored: %s (SIGHUP reloads, SIGTERM stops)", sig.name, _why(sig))

    def handler(signum: int, frame: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: it is ending
            loop.call_soon_threadsafe(warn)

    return handler


class Signals:
    """The handlers the daemon installs while it runs, and its reloads' turns."""

    def __init__(
        self,
        reload: Callable[[], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self._reload = reload
        self._spawn = spawn
        self._mask: set[int | signal.Signals] | None = None  # before the SIGHUP handler
        # one reload at a time, and at most one waiting: SIGHUPs meanwhile are that one
        self._reload_lock = asyncio.Lock()
        self._reload_waiting = False
        # each signal's handler before `install` (run: the user signals ignored since
        # its first line), put back by `remove`; and whether a stop signal came
        self._before: dict[signal.Signals, Any] = {}
        self._stop_signalled = False

    def install(self, stop: Callable[[], None], on_hup: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def on_stop(signum: int, frame: FrameType | None) -> None:
            self._stop_signalled = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: it is ending
                loop.call_soon_threadsafe(stop)

        for sig in STOPS:
            self._before[sig] = signal.signal(sig, on_stop)
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        for sig in USER_SIGNALS:
            self._before[sig] = signal.signal(sig, _ignored(sig, loop))
        global _installed
        _installed = True
        say_unheard("during the start")  # counted until now (hup.ignore_stray_stops)
        # held since `run` began (daemon/prestart.py): one that came meanwhile reloads now
        self._mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        if self._mask is not None:  # stopping: a SIGHUP now is not a death
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        loop.remove_signal_handler(signal.SIGHUP)  # SIG_DFL for now (held): put back below
        for sig, before in self._before.items():  # never SIG_DFL between handlers
            if sig in STOPS and (self._stop_signalled or _ends_process):
                ignore_for_exit(sig, before)
            elif sig in STOPS or before is not None:
                signal.signal(sig, before if before is not None else signal.SIG_DFL)
        self._before.clear()
        if self._mask is not None:
            release_reloads(self._mask)
            self._mask = None

    def on_hup(self) -> None:
        """A reload, unless one is already waiting its turn: that one reads the
        configuration when it begins, so it covers this SIGHUP too. Each SIGHUP
        queued a whole forced rescan: 20 sent 50 ms apart kept a 1,500-file
        corpus re-read for a minute."""
        if self._reload_waiting:
            return
        self._reload_waiting = True
        self._spawn(self._reload_in_turn(), "reload")

    async def _reload_in_turn(self) -> None:
        async with self._reload_lock:
            self._reload_waiting = False  # begun: a SIGHUP from now on may change more
            await self._reload()
