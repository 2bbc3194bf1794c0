"""SIGHUP held from the first line of `article-monitor run`, before its imports.

`run` turns a SIGHUP held until its handler is installed into a reload
(prestart.reloads_held, service.Daemon._install_signals). But the command is
chosen only after click and the CLI are imported (~50 ms), and until then
SIGHUP's default action ended the process: a systemd `ExecReload=kill -HUP
$MAINPID` right after a start stopped the service. The entry modules call
`hold_for_run` first thing; it reads sys.argv as the command group does.

Imports only `signal`: this runs before everything else of ours.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

# the command group's own options (monitor.cli.cli): flags, none takes a value
_GROUP_FLAGS = frozenset({"-h", "--help", "--version"})
# the daemon ignores both (ignore_stray_stops): their default action is an end
USER_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of an `article-monitor` command line, as click finds it:
    the first argument after the group's flags, or the one after `--` (the end
    of options: `article-monitor -- run` runs the daemon); None when there is none."""
    words = list(argv[1:])
    for at, word in enumerate(words):
        if word == "--":
            return words[at + 1] if at + 1 < len(words) else None
        if word in _GROUP_FLAGS:
            continue
        return None if word.startswith("-") else word
    return None


def hold_for_run(argv: Sequence[str]) -> bool:
    """Block SIGHUP if the command is `run` (say whether it was); every other
    command keeps SIGHUP's default action. The daemon unblocks it once its
    handler is in place, so one that came meanwhile is a reload then."""
    if command_of(argv) != "run":
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    ignore_stray_stops()
    return True


def ignore_stray_stops() -> None:
    """SIGUSR2 is the daemon's word to its checker processes (it stops); sent to the
    daemon itself (`kill -USR2`, or `systemctl kill -s USR2` to the whole unit), its
    default action ended it as SIGKILL does: nothing flushed, leases held. SIGUSR1
    too, which many daemons take for "reopen the logs" (this one logs to stderr).
    Both are ignored from `run`'s first line, and counted while the daemon's own
    handlers are not in place (its start, its stop's end): the daemon logs them
    once it can (signals.py); SIG_IGN said nothing of them. A checker process is
    spawned with both held (prestart.spawn_signals_held, check.prestart's
    stop_signals_held), since exec resets a handled signal to its default action:
    it sets its own SIGUSR2 handler and keeps SIGUSR1 held."""
    for sig in USER_SIGNALS:
        signal.signal(sig, _unheard_signal)


_unheard: dict[int, int] = {}  # signal: how many came while only counted


def _unheard_signal(signum: int, frame: object) -> None:
    _unheard[signum] = _unheard.get(signum, 0) + 1


def take_unheard() -> dict[int, int]:
    """The user signals counted since the last call (run's first line the first time)."""
    global _unheard
    taken, _unheard = _unheard, {}
    return taken
