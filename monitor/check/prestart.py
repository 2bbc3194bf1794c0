"""Checker workers started before the parent's heavy imports and the corpus read.

A worker is a whole interpreter: ~0.4 CPU-s of imports before it checks
anything. Spawned from the event loop (`WorkerPool`), it started only after
the parent had imported the report, corpus and rules modules (~0.3 s) and,
with `--workers 0`, read the first 2,000 targets; on a 5,000-URL run that
was a third of the wall time with one core idle. So `check` spawns the
workers here, first thing after its settings are known, and the pool adopts
them: each imports on the other core while the parent imports and reads.

Imports nothing heavy (this module runs before everything else of a run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# Below this, one process: a worker costs ~0.5 CPU-s (its interpreter, imports,
# the pipe both ways) and halves each process's share of --concurrency. Issue 16,
# small pages at 20 ms, 128 in flight, per-host 8, interleaved on a shared
# 2-core machine, auto (2 processes) against --workers 1, checks/s and
# CPU-us/check: 5,000 URLs 2,055 -> 2,566, 373 -> 285; 20,000: 3,064 -> 2,821,
# 231 -> 205; 50,000 (four runs, small and realistic pages): one process was
# faster in three (+10-13%, slower by 19% in one), took 5-12% less CPU and
# ~55 MB less memory (93-97 against 146-157 MB, over issue 16's 150 MB in
# some runs); 100,000: two are 16% faster at equal CPU (bench/README.md).
# It was 2,000, then 20,000.
AUTO_MIN_TARGETS = 60_000
AUTO_MAX_WORKERS = 4
# A corpus file holds about this many bytes per target (the benchmark's JSON
# Lines: ~150; bench/load_corpus.py's mix: ~260): a corpus of AUTO_MIN_TARGETS
# times this (~15 MB) is taken as a big run before it is read.
BYTES_PER_TARGET = 256
_SCAN_ENTRIES = 10_000  # directory entries looked at, at most, to tell the size
WORKER_ARGS: tuple[str, ...] = ("-m", "monitor.check.worker")  # after the interpreter
# `check`'s checkers give up on a host that refuses everything (http/giving_up.py)
GIVE_UP_ARG = "--give-up-refusing-hosts"
CHECK_WORKER_ARGS: tuple[str, ...] = (*WORKER_ARGS, GIVE_UP_ARG)
TEXT_HASH_ARG = "--text-hash"  # the daemon's checkers: pages' text marks too (own drift)
# the daemon's checkers: the soft-404 probe's answers are kept in this SQLite database
PROBE_DB_ARG = "--probe-db="
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# the daemon tells its checker processes that it stops (its own SIGTERM, alone:
# a container's PID 1, `kill PID`), so they start no queued request from then on,
# as a stop signal to the whole group does; the cancels that follow travel the pipe
PARENT_STOPS = signal.SIGUSR2


def auto_workers(requested: int, targets: int, cpus: int | None = None) -> int:
    """`--workers 0` (auto): one process per core for big runs, else one."""
    if requested > 0:
        return requested
    cpus = cpus or os.cpu_count() or 1
    if targets < AUTO_MIN_TARGETS:
        return 1
    return max(1, min(cpus, AUTO_MAX_WORKERS))


def corpus_bytes(paths: Sequence[Path | str], enough: int) -> int:
    """The size of the corpus files under `paths`, counted up to `enough` (a
    bounded look: stat only, at most _SCAN_ENTRIES entries; unreadable: 0)."""
    from monitor.corpus.files import SUFFIXES  # a frozenset module, nothing heavy

    total, seen = 0, 0
    stack = [Path(p) for p in reversed(paths)]
    while stack and total < enough and seen < _SCAN_ENTRIES:
        path = stack.pop()
        with contextlib.suppress(OSError):
            if path.is_dir():
                with os.scandir(path) as entries:
                    for entry in entries:
                        seen += 1
                        if entry.name.startswith("."):
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif Path(entry.name).suffix.lower() in SUFFIXES:
                            total += entry.stat().st_size
            else:
                total += path.stat().st_size
    return total


def workers_wanted(workers: int, offline: bool, paths: Sequence[Path | str]) -> int:
    """How many checker processes to start now (the parent included); 0 to
    leave the choice to the pool once the targets are counted."""
    if offline or workers == 1:
        return 0
    if workers > 1:
        return workers
    enough = AUTO_MIN_TARGETS * BYTES_PER_TARGET
    return auto_workers(0, AUTO_MIN_TARGETS) if corpus_bytes(paths, enough) >= enough else 0


class SignalsHeld:
    """`signals` blocked in this thread while any holder is inside, unblocked
    (those that were not blocked before the first) when the last one leaves.

    Holders may overlap without nesting: the daemon's keepers each hold them
    across the `await` of a spawn, and two processes that died together are
    replaced together. Each putting back the mask it found, the second to
    leave put back the first's blocked mask: SIGINT, SIGTERM and SIGHUP stayed
    blocked in the daemon's main thread for the rest of its life."""

    def __init__(self, *signals: signal.Signals) -> None:
        self.signals = set(signals)
        self.local = threading.local()  # a signal mask is per thread

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        local = self.local
        depth = getattr(local, "depth", 0)
        if depth == 0:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
            local.unblock = self.signals - set(old)
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth -= 1
            if local.depth == 0:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, local.unblock)


# A worker starts with SIGINT and SIGTERM blocked (a child inherits the mask
# across exec) and unblocks them once it can pass them on to the parent
# (monitor.check.worker): a Ctrl-C while it imports is held, not a traceback.
# PARENT_STOPS too: its default action ends a process, and the daemon may stop
# while a replacement imports. This process gets its own signals as soon as
# the spawn returns.
stop_signals_held = SignalsHeld(*STOP_SIGNALS, PARENT_STOPS)


def worker_environment() -> dict[str, str]:
    """This process's environment without its ARTICLE_MONITOR_* variables (any
    case, as the settings read them): a checker process gets its settings
    through its stdin pipe, and those variables may hold secrets (the proxy's
    password, ARTICLE_MONITOR_KEY) that its /proc/PID/environ showed for its
    whole life."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("ARTICLE_MONITOR_")}


def spawn(count: int, args: Sequence[str] = WORKER_ARGS) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes (`python ARGS`), started now; they wait for their
    settings. None where the loop could not watch them (no pidfd): the pool
    spawns them then."""
    if count <= 0 or not hasattr(os, "pidfd_open"):
        return []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            with stop_signals_held():
                procs.append(
                    subprocess.Popen(
                        [sys.executable, *args],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        env=worker_environment(),
                    )
                )
    except OSError:
        discard(procs)
        return []
    return procs


def discard(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Workers not needed after all: without settings they exit; reaped here."""
    for proc in procs:
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class _Pipe(asyncio.Protocol):
    """One pipe of an adopted worker, reported as asyncio's subprocess pipes are."""

    def __init__(self, owner: AdoptedProcess, fd: int) -> None:
        self.owner = owner
        self.fd = fd

    def data_received(self, data: bytes) -> None:
        self.owner.protocol.pipe_data_received(self.fd, data)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.pipe_lost(self.fd, exc)


class AdoptedProcess:
    """A worker spawned by `spawn`, driven like asyncio's subprocess transport:
    its stdin and stdout as pipe transports on the loop, its exit seen by a
    pidfd. `process_exited` comes after both pipes are closed and the process
    has ended, as with `loop.subprocess_exec`."""

    def __init__(self, proc: subprocess.Popen[bytes], protocol: asyncio.SubprocessProtocol):
        self.proc = proc
        self.protocol = protocol
        self.stdin: asyncio.WriteTransport | None = None
        self.stdout: asyncio.ReadTransport | None = None
        self.open_pipes = 2
        self.ended = False
        self.finished = False
        self.pidfd = -1

    @classmethod
    async def adopt(
        cls, proc: subprocess.Popen[bytes], protocol: asyncio.SubprocessProtocol
    ) -> AdoptedProcess:
        loop = asyncio.get_running_loop()
        self = cls(proc, protocol)
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin, _ = await loop.connect_write_pipe(lambda: _Pipe(self, 0), proc.stdin)
        self.stdout, _ = await loop.connect_read_pipe(lambda: _Pipe(self, 1), proc.stdout)
        protocol.connection_made(self)  # type: ignore[arg-type]  # duck-typed, as uvloop's
        self.pidfd = os.pidfd_open(proc.pid)
        loop.add_reader(self.pidfd, self._exited)
        return self

    def _exited(self) -> None:
        asyncio.get_running_loop().remove_reader(self.pidfd)
        os.close(self.pidfd)
        self.pidfd = -1
        self.proc.wait()  # it has ended: reaped at once
        self.ended = True
        self._try_finish()

    def pipe_lost(self, fd: int, exc: Exception | None) -> None:
        self.open_pipes -= 1
        self.protocol.pipe_connection_lost(fd, exc)
        self._try_finish()

    def _try_finish(self) -> None:
        if self.ended and self.open_pipes == 0 and not self.finished:
            self.finished = True
            self.protocol.process_exited()

    # the part of asyncio.SubprocessTransport that the pool uses
    def get_pipe_transport(self, fd: int) -> Any:
        return self.stdin if fd == 0 else self.stdout if fd == 1 else None

    def get_pid(self) -> int:
        return self.proc.pid

    def get_returncode(self) -> int | None:
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    def send_signal(self, signum: int) -> None:
        """Not reaped yet (no return code), its pid is still its own."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signum)

    def close(self) -> None:
        for transport in (self.stdin, self.stdout):
            if transport is not None and not transport.is_closing():
                transport.close()
        if self.pidfd >= 0:  # closed before it ended (kill first): stop watching
            asyncio.get_running_loop().remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1
