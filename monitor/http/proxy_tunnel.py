"""The client's side of the `proxy` setting (monitor/proxy.py): the route, the
CONNECT exchange on the raw socket, and the errors that name the proxy.

An https target is reached through a tunnel: the client dials the proxy, sends
`CONNECT host:port HTTP/1.1`, reads the proxy's answer head here (bounded in
size, `CONNECT_HEAD_MAX`, and in time by the caller's connect timeout), and on
a 2xx hands the same socket to `loop.create_connection(sock=..., ssl=...)`: TLS
runs end to end with the target, its certificate checked and its expiry read
as on a direct connection. An http target is asked in absolute form
(`GET http://host:port/path`) over kept-alive connections to the proxy
(`client.py`).

The proxy's own address is not vetted by the private-address guard: the
operator named it. The targets' names are resolved by the proxy, so only what
can be judged here is: IP-literal targets (and the addresses `connect_to`
rules give) and RFC 6761 names (`resolver.GuardedResolver.vet_for_proxy`).

Every message names the proxy as `HOST:PORT`, never its credentials.
"""

from __future__ import annotations

import asyncio
import re
import socket
from functools import cache
from typing import Final

from aiohttp import ConnectionTimeoutError

from monitor.classify import ErrorKind
from monitor.proxy import Bypass, ProxyUrl, no_proxy_patterns

# a proxy's answer to CONNECT is a status line and a few headers (Squid's and
# tinyproxy's: under 300 bytes; a 407 page's body is not read)
CONNECT_HEAD_MAX: Final = 16 * 1024


@cache
def _status_line() -> re.Pattern[bytes]:
    """Compiled at the first answer to CONNECT, not at import (issue 16)."""
    return re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")


class ProxyFailedError(OSError):
    """The proxy did not give a connection to the target: `kind` and `text` are
    what `errors.classify_exception` reports (the text names the proxy)."""

    def __init__(self, kind: ErrorKind, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


class ProxyTimeoutError(ConnectionTimeoutError):
    """No connection through the proxy within the connect timeout."""

    def __init__(self, address: str) -> None:
        self.text = f"timed out connecting through proxy {address}"
        super().__init__(self.text)


def head_end(data: bytes | bytearray) -> int | None:
    """The length of the answer head at the start of `data` (through its blank
    line), or None while it is incomplete. Bare LF line ends are taken, as
    aiohttp's parser takes them."""
    ends = [at + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (at := data.find(sep)) >= 0]
    return min(ends) if ends else None


def connect_status(head: bytes) -> tuple[int, str]:
    """(status, reason) of a CONNECT answer head; ValueError when it is not HTTP/1.x."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    found = _status_line().fullmatch(line)
    if found is None:
        raise ValueError("not an HTTP/1.x status line")
    reason = (found.group(2) or b"").decode("latin-1").strip()
    return int(found.group(1)), reason


def answered(status: int, reason: str, secrets: tuple[str, ...]) -> str:
    """`STATUS REASON` of a proxy's refusal for a message (80 characters at most):
    the reason left out when it is not ASCII or holds any of `secrets` (the
    credentials sent, which a hostile or buggy proxy may echo in it)."""
    folded = reason.lower()
    if not reason.isascii() or any(s.lower() in folded for s in secrets):
        return str(status)
    return f"{status} {reason}".strip()[:80]


async def read_connect_answer(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    address: str,
    authority: str,
    secrets: tuple[str, ...] = (),
) -> None:
    """Read the proxy's answer to `CONNECT authority` on `sock`; return on 2xx
    with nothing read past its head, else raise ProxyFailedError. Interim (1xx)
    heads before it are skipped, as RFC 9110 asks of every client; their bytes
    count within CONNECT_HEAD_MAX. `secrets`: the credentials sent, never
    repeated from the answer (`answered`)."""
    buf = bytearray()
    skipped = 0  # the bytes of the interim heads dropped
    while True:
        end = head_end(buf)
        while end is None:
            if skipped + len(buf) > CONNECT_HEAD_MAX:
                raise ProxyFailedError(
                    ErrorKind.PROTOCOL,
                    f"proxy {address}'s answer to CONNECT {authority} has a head over "
                    f"{CONNECT_HEAD_MAX} bytes",
                )
            chunk = await loop.sock_recv(sock, CONNECT_HEAD_MAX + 1 - skipped - len(buf))
            if not chunk:
                raise ProxyFailedError(
                    ErrorKind.CLOSED,
                    f"proxy {address} closed the connection without answering CONNECT {authority}",
                )
            buf += chunk
            end = head_end(buf)
        try:
            status, reason = connect_status(bytes(buf[:end]))
        except ValueError:
            raise ProxyFailedError(
                ErrorKind.PROTOCOL,
                f"proxy {address}'s answer to CONNECT {authority} is not a valid HTTP response",
            ) from None
        if not (100 <= status < 200 and status != 101):
            break
        skipped += end
        del buf[:end]
    if not 200 <= status < 300:
        said = answered(status, reason, secrets)
        raise ProxyFailedError(
            ErrorKind.REFUSED, f"proxy {address} answered {said} to CONNECT {authority}"
        )
    if len(buf) > end:  # the target speaks only after our TLS hello: these are the proxy's
        raise ProxyFailedError(
            ErrorKind.PROTOCOL,
            f"proxy {address} sent bytes after its answer to CONNECT {authority}",
        )


class ProxyRoute:
    """The client's view of the settings' proxy: where it is, how to authenticate,
    which target hosts bypass it."""

    __slots__ = ("address", "authorization", "bypass", "dial_host", "port", "secrets")

    def __init__(self, proxy: ProxyUrl, no_proxy: list[str]) -> None:
        self.address = proxy.address
        self.dial_host = proxy.dial_host
        self.port = proxy.port
        self.authorization = proxy.authorization()
        self.bypass = Bypass(no_proxy_patterns(no_proxy))
        # what a proxy's answer must not be echoed with: the Basic token, the
        # password, and a user given without one (an API key as the user)
        self.secrets: tuple[str, ...] = ()
        if self.authorization is not None and proxy.password is not None:
            password = proxy.password.get_secret_value()
            said = [self.authorization.partition(" ")[2], password or proxy.username or ""]
            self.secrets = tuple(s for s in said if s)

    @classmethod
    def of(cls, proxy: ProxyUrl | None, no_proxy: list[str]) -> ProxyRoute | None:
        return None if proxy is None else cls(proxy, no_proxy)

    def __repr__(self) -> str:  # never the credentials
        return f"ProxyRoute({self.address})"


def authority_of(host: str, port: int) -> str:
    """`host:port` as a request target's authority (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
