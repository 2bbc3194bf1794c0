"""systemd's readiness protocol (sd_notify) without libsystemd: one datagram to
$NOTIFY_SOCKET. With `Type=notify` a start completes at READY=1, which `run`
sends once its SIGHUP handler is installed, so a `systemctl reload` queued
behind the start can never reach the process before it handles the signal
(with `Type=exec` the start completed at exec, before Python had run a line).
Without $NOTIFY_SOCKET (no systemd, Docker, a shell) nothing is sent.
"""

from __future__ import annotations

import contextlib
import os
import socket


def notify(state: str) -> bool:
    """Send `state` ("READY=1", "STOPPING=1") to the service manager; say
    whether it was sent. Never raises: readiness is a courtesy, not a need."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":  # vsock and others: not ours to parse
        return False
    if address[0] == "@":  # the abstract namespace
        address = "\0" + address[1:]
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
            return True
    return False
