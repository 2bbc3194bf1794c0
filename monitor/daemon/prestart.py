"""The daemon's checker processes: how many, with which arguments, and started
before the daemon's heavy imports when the corpus on disk already says so.

A checker process imports for ~0.4 CPU-s before it checks anything. Spawned
once the checker was chosen (after the daemon's own imports, the database's
check and migration, with the first corpus scan under way), it imported while
the scan competed for the cores, and `run --once` requested its first 1% of
50,000 targets at 2.0 s where `check`, which starts its workers first thing
(monitor.check.prestart), did at 1.5 s. `run` now spawns them as soon as its
settings are read, when the corpus files' size alone makes them the choice;
`checker_choice.checker_for` (which also counts the database's targets) adopts them,
or lets them go.

Imports nothing heavy: this runs before the daemon's modules are imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.check.prestart import (
    AUTO_MAX_WORKERS,
    BYTES_PER_TARGET,
    PROBE_DB_ARG,
    TEXT_HASH_ARG,
    WORKER_ARGS,
    SignalsHeld,
    corpus_bytes,
    discard,
    spawn,
)
from monitor.config import Settings

# Below this many active targets the daemon checks in its own process (auto).
AUTO_MIN_TARGETS = 5_000
# how far the corpus files' size is counted: enough to make that many targets
CORPUS_ENOUGH = AUTO_MIN_TARGETS * BYTES_PER_TARGET


def processes_for(settings: Settings, active_targets: int, dialect: str) -> int:
    """Checker processes for the daemon: 0 checks in the daemon's own process.

    `workers` (config file or ARTICLE_MONITOR_WORKERS) 1 means in-process, N
    means N processes; 0 (auto) means one per core but the daemon's own,
    once there are AUTO_MIN_TARGETS active targets. Never on PostgreSQL (see
    checkers.py's docstring).
    """
    if dialect != "sqlite" or settings.workers == 1:
        return 0
    if settings.workers > 1:
        return settings.workers
    cpus = os.cpu_count() or 1
    if active_targets < AUTO_MIN_TARGETS or cpus < 2:
        return 0
    return max(1, min(cpus - 1, AUTO_MAX_WORKERS))


def worker_args(settings: Settings, probe_db: str | None) -> tuple[str, ...]:
    """The checker processes' command line after the interpreter: text marks as
    the in-process checker makes them, probe answers kept in `probe_db`."""
    args = WORKER_ARGS
    if settings.text_drift:
        args = (*args, TEXT_HASH_ARG)
    if probe_db is not None and settings.soft_404_probe:
        args = (*args, PROBE_DB_ARG + probe_db)
    return args


def dialect_of(url: str) -> str:
    """The dialect of a database URL (`sqlite`, `postgresql`) read from its
    scheme, as SQLAlchemy names it, without importing SQLAlchemy."""
    return url.split(":", 1)[0].split("+", 1)[0].lower()


# A SIGHUP (reload) is the daemon's: a checker process spawned inside inherits
# it blocked and never sees it. Held across a spawn's await (checkers.py), by
# two processes' keepers at once: SignalsHeld leaves the mask as it found it.
# SIGUSR1 too, which the daemon ignores (hup.ignore_stray_stops) with a handler
# of its own from `run`'s first line, which exec resets to the default action: a
# checker process spawned without it held was ended by a `systemctl kill -s USR1`
# (one started in a dead one's place lost its checks on their second try).
spawn_signals_held = SignalsHeld(signal.SIGHUP, signal.SIGUSR1)


@contextlib.contextmanager
def reloads_held() -> Iterator[None]:
    """`run` from its start until the daemon's own SIGHUP handler is installed
    (and again once it is removed): SIGHUP's default action is to end the
    process, so a reload asked while the daemon imported or checked its database
    killed it. A SIGHUP held until the handler is installed is a reload then;
    one held after it is removed (the daemon is stopping) is dropped."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        release_reloads(old)


def release_reloads(old: set[int | signal.Signals]) -> None:
    """Put back the signal mask `old`, dropping a SIGHUP held meanwhile if it
    would otherwise be delivered with no handler (and end the process)."""
    if signal.SIGHUP not in old and signal.getsignal(signal.SIGHUP) == signal.SIG_DFL:
        while signal.SIGHUP in signal.sigpending():  # bounded: one per call at most
            signal.sigtimedwait({signal.SIGHUP}, 0)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)


@dataclass
class Prestarted:
    """Checker processes spawned early, and the arguments they were given. Whoever
    `take`s them owns them; `discard` lets go of any not taken."""

    args: tuple[str, ...] = ()
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # the corpus files' size as the spawn decision found it, and under which paths:
    # checker_choice.checker_for asks the same question of an empty database (not twice)
    walked: tuple[tuple[str, ...], int] | None = None

    def corpus_bytes(self, paths: Sequence[Path | str]) -> int | None:
        """The size found under `paths` (None if they were not walked: a reload
        may have changed them since)."""
        if self.walked is None or self.walked[0] != tuple(map(str, paths)):
            return None
        return self.walked[1]

    def take(self, args: tuple[str, ...]) -> list[subprocess.Popen[bytes]]:
        """The processes, if they were spawned with `args` (else they are let go)."""
        procs, self.procs = self.procs, []
        if args != self.args:
            discard(procs)
            return []
        return procs

    def discard(self) -> None:
        procs, self.procs = self.procs, []
        discard(procs)


def prestart(settings: Settings) -> Prestarted:
    """Spawn the checker processes now if the corpus files alone make them the
    choice; none otherwise (the daemon decides again once its database is open)."""
    url = settings.database_url()
    dialect = dialect_of(url)
    if dialect != "sqlite" or settings.workers == 1:
        return Prestarted()
    guess = 0
    walked = None
    if settings.workers == 0:
        size = corpus_bytes(settings.paths, CORPUS_ENOUGH)
        walked = (tuple(map(str, settings.paths)), size)
        guess = size // BYTES_PER_TARGET
    count = processes_for(settings, guess, dialect)
    args = worker_args(settings, url)
    with spawn_signals_held():
        return Prestarted(args, spawn(count, args), walked)
