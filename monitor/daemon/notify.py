"""systemd's readiness protocol (sd_notify) without libsystemd: one datagram to
$NOTIFY_SOCKET. With `Type=notify` a start completes at READY=1, which `run`
sends once its SIGHUP handler is installed, so a `systemctl reload` queued
behind the start can never reach the process before it handles the signal
(with `Type=exec` the start completed at exec, before Python had run a line).
Without $NOTIFY_SOCKET (no systemd, Docker, a shell) nothing is sent.

`run` takes the variable out of its environment first thing (`claim`), as
sd_notify's unset_environment does: its checker processes inherited it, and
a child that speaks the protocol (another `run` among them) would speak for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

VARIABLE = "NOTIFY_SOCKET"
SEND_TIMEOUT = 1.0  # a manager whose queue is full: a start or a stop does not hang on it

_claimed: str | None = None


def claim() -> None:
    """Take $NOTIFY_SOCKET for this process only: later `notify` calls use it,
    and the processes this one starts no longer inherit it."""
    global _claimed
    address = os.environ.pop(VARIABLE, None)
    if address is not None:
        _claimed = address


def notify(state: str) -> bool:
    """Send `state` ("READY=1", "STOPPING=1") to the service manager; say
    whether it was sent. Never raises, never waits long: readiness is a
    courtesy, not a need."""
    address = _claimed if _claimed is not None else os.environ.get(VARIABLE, "")
    if not address or address[0] not in "/@":  # vsock and others: not ours to parse
        return False
    if address[0] == "@":  # the abstract namespace
        address = "\0" + address[1:]
    with contextlib.suppress(OSError, ValueError):  # ValueError: a NUL in the path
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.connect(address)
            sock.sendall(state.encode())
            return True
    return False


# -- the start timeout, kept while the start's database work makes progress

EXTEND_EVERY = 10.0  # seconds between two requests for more start time
EXTEND_BY_USEC = 30_000_000  # each asks for this much more (three beats: a lost one is no harm)
EXTEND_MOST = 3600.0  # ask for at most this long in all (without a count of progress: PostgreSQL)
STARTING = "EXTEND_TIMEOUT_USEC={usec}\nSTATUS={status}"
CHECKING_STATUS = "checking the database"
# started: an empty STATUS clears the start's (systemd keeps the last one it got,
# and `systemctl status` said "checking the database" for as long as `run` ran)
READY = "READY=1\nSTATUS="


_OWN_READS = [0]  # bytes `bytes_read` itself has read from /proc/self/io


def bytes_read() -> int | None:
    """The bytes this process has read (Linux's /proc/self/io `rchar`: files,
    pipes and terminals, cached or not), less what reading /proc/self/io took:
    counted, every beat "moved" by ~100 bytes, and a hung start was extended
    for ever. None where that cannot be read."""
    try:
        fd = os.open("/proc/self/io", os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 4096)  # one read: the kernel counts it after the text
        finally:
            os.close(fd)
        _OWN_READS[0] += len(text)
        for line in text.splitlines():
            if line.startswith(b"rchar:"):
                return int(line.split()[1]) - (_OWN_READS[0] - len(text))
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.asynccontextmanager
async def start_extended(
    progress: Callable[[], int | None],
    *,
    every: float = EXTEND_EVERY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    send: Callable[[str], bool] = notify,
    status: str = CHECKING_STATUS,
) -> AsyncIterator[None]:
    """While the body runs (the start's database check and migration), ask the
    service manager every `every` seconds for EXTEND_BY_USEC more of its start
    timeout, as long as `progress()` moved since the last ask.

    The check reads the whole SQLite file (~1 s per 70 MB), so the unit had no
    start timeout at all, and a start that truly hung waited for ever. Now
    the unit keeps TimeoutStartSec, and a check that reads on keeps the start
    alive: `progress()` is the bytes this process read (`bytes_read`: SQLite's
    quick_check is one step of its VM, so a progress handler never runs while
    it reads); None where nothing is counted (PostgreSQL, or no /proc), and
    then it asks at every beat. Either way for EXTEND_MOST at most. Without
    $NOTIFY_SOCKET nothing is sent. `status` is the unit's status line meanwhile
    (the phase: the check, then the migration).
    """
    message = STARTING.format(usec=EXTEND_BY_USEC, status=status)  # the unit's status line
    task = asyncio.create_task(
        _extend(progress, every, sleep, clock, send, message), name="start-extend"
    )
    try:
        yield
    finally:
        task.cancel()
        # waited for, never awaited: a stop signal's SystemExit raised in a beat
        # (interrupt.stop_early) has left the loop already; raised again here, the
        # run ended with "Task exception was never retrieved" and a traceback
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: not logged again when the task is collected


async def _extend(
    progress: Callable[[], int | None],
    every: float,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    send: Callable[[str], bool],
    message: str,
) -> None:
    started = clock()
    last: int | None = -1  # never a count: the first beat asks
    while clock() - started <= EXTEND_MOST:  # counted or not: an hour at most
        now = progress()
        if now is None or now != last:
            send(message)
        last = now
        await sleep(every)
