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

import contextlib
import os
import socket

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
