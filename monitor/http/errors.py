"""The client's exceptions (`client.py`) → `ErrorKind` plus a short text, with no secrets.

The text names what failed (a host, an errno string), never a URL: URLs may
carry credentials in their userinfo or tokens in their query.
"""

from __future__ import annotations

import asyncio
import errno
import ssl

import aiohttp

from monitor.classify import ErrorKind
from monitor.http.aiohttp_parts import HttpProcessingError
from monitor.http.connection import ConnectFailedError, DNSFailedError
from monitor.http.guard import BlockedAddressError
from monitor.http.proxy_tunnel import ProxyFailedError, ProxyTimeoutError
from monitor.http.resolver import NameNotResolvedError
from monitor.text_clip import fit


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes and contexts."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        todo.append(cur.__cause__)
        todo.append(cur.__context__)
    return seen


def _first(chain: list[BaseException], kind: type[BaseException]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kind)), None)


def classify_exception(exc: BaseException) -> tuple[ErrorKind, str]:
    """The error kind of a failed request and a one-line description."""
    chain = _chain(exc)
    blocked = _first(chain, BlockedAddressError)
    if isinstance(blocked, BlockedAddressError):
        return ErrorKind.BLOCKED, f"blocked: {blocked.address} ({blocked.reason})"
    if isinstance(exc, ProxyFailedError | ProxyTimeoutError):  # they name the proxy
        kind = exc.kind if isinstance(exc, ProxyFailedError) else ErrorKind.TIMEOUT
        return kind, _short(exc.text)
    if isinstance(exc, DNSFailedError):
        return ErrorKind.DNS, f"name does not resolve: {exc.host}"
    if _first(chain, NameNotResolvedError):
        return ErrorKind.DNS, "name does not resolve"
    cert_err = _first(chain, ssl.CertificateError)
    if cert_err is not None:
        return ErrorKind.TLS, f"certificate rejected: {_ssl_reason(cert_err)}"
    ssl_err = _first(chain, ssl.SSLError)
    if ssl_err is not None:
        return ErrorKind.TLS, f"TLS failed: {_ssl_reason(ssl_err)}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return ErrorKind.TIMEOUT, "timed out connecting"
        return ErrorKind.TIMEOUT, "timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorKind.CLOSED, "server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return _payload_error(chain)
    parse = _first(chain, HttpProcessingError)
    if parse is not None:
        detail = getattr(parse, "message", "") or type(parse).__name__
        return ErrorKind.PROTOCOL, f"not a valid HTTP response: {_short(str(detail))}"
    if isinstance(exc, ConnectFailedError):
        os_err = exc.os_error
        if isinstance(os_err, ConnectionRefusedError) or os_err.errno == errno.ECONNREFUSED:
            return ErrorKind.REFUSED, "connection refused"
        why = os_err.strerror or str(os_err)
        if not why:  # asyncio's TLS layer: the peer closed during the handshake, no text
            why = (
                "connection closed during the TLS handshake"
                if isinstance(os_err, ConnectionResetError)
                else type(os_err).__name__
            )
        return ErrorKind.REFUSED, f"cannot connect: {_short(why)}"
    reset = _first(chain, ConnectionResetError) or _first(chain, BrokenPipeError)
    if reset is not None:
        return ErrorKind.RESET, "connection reset by peer"
    if isinstance(exc, aiohttp.ClientOSError):
        return ErrorKind.RESET, f"connection failed: {_short(exc.strerror or type(exc).__name__)}"
    if isinstance(exc, aiohttp.ClientConnectionError):
        return ErrorKind.CLOSED, "connection closed"
    return ErrorKind.PROTOCOL, f"request failed: {type(exc).__name__}"


def _payload_error(chain: list[BaseException]) -> tuple[ErrorKind, str]:
    if _first(chain, ConnectionResetError) is not None:
        return ErrorKind.RESET, "connection reset while reading the body"
    if _first(chain, TimeoutError) is not None:
        return ErrorKind.TIMEOUT, "timed out reading the body"
    return ErrorKind.CLOSED, "connection closed before the body was complete"


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
    if not reason:
        reason = str(exc)
    return _short(str(reason))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return fit(text, limit)
