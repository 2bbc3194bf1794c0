"""Bounds on the endpoints' connections: how many, and how long each may wait.

aiohttp alone accepts until the process runs out of file descriptors and
keeps a connection that never completes its request head for its keep-alive
timeout (an hour). Authentication cannot help: it is checked only once the
head has arrived. So every connection passes through `ConnectionGuard`:

- at most `max_connections` are open; a new one beyond that closes one that
  is not being answered, in this order: kept-alive connections already
  answered and silent since (closing one costs its client a reconnect, not
  an answer); connections that have sent nothing for `hello_grace`; those
  midway through a request head (slowloris) or still being sent their
  answer (a slow reader); new connections that have sent nothing yet (a
  client sends its request as it connects: it may just not have been read);
  and last those whose request line asks for /healthz, /readyz or
  /metrics. Oldest first within each. Bytes the client has sent but the
  loop has not read yet count as sent (a peek at the socket), so a fresh
  probe whose request is on its way is not taken for an idle connection.
  If all are being answered, the new one is refused, which `may_wait`
  prevents: beyond `max_connections - reserved` busy connections, the
  endpoints answer any request but /healthz with a 503 at once instead of
  letting it wait (a slow database, a slow render);
- a connection must complete its request head within `header_timeout` of
  opening; a handler must finish within `request_timeout`; after it, the
  response must be written and the next head arrive within `idle_timeout`
  (so a client that never reads cannot hold a connection either).

Closing is an abort (RST): a graceful close would wait for a client that
does not read. With TLS the guard admits the plain TCP connection first and
only then starts the handshake (`loop.start_tls`), so unfinished handshakes
are counted, evicted and timed out like any other wait.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from monitor.observe.status.filters import REQUEST_LINE

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The endpoints' bounds (seconds, counts, bytes); tests lower them."""

    max_connections: int = 128
    backlog: int = 64  # the listen queue, and so the most sockets accepted in one batch
    header_timeout: float = 10.0
    idle_timeout: float = 30.0
    request_timeout: float = 60.0
    # a client sends its request as it connects: until this has passed, a new connection
    # that has sent nothing may just not have been read yet, and is evicted late
    hello_grace: float = 1.0
    # connections no request may wait in (answered 503 at once instead), so that one
    # is always idle or free for /healthz, whose answer never waits (at most half)
    reserved: int = 4
    # request head limits handed to aiohttp's parser (a header flood costs at most this);
    # the line takes any status query within the API's bounds (~31 KiB)
    max_line_size: int = REQUEST_LINE
    max_field_size: int = 8190
    max_headers: int = 64


# the request lines of the cheap endpoints probes ask for: evicted last
PROBE_LINE = re.compile(rb"(?:GET|HEAD) /(?:healthz|readyz|metrics)[ ?]")
HEARD = 32  # bytes of a request kept to recognise its request line


class _Conn:
    __slots__ = ("busy", "encrypted", "heard", "served", "since", "timer", "tls", "transport")

    def __init__(self, transport: asyncio.BaseTransport, since: float, encrypted: bool) -> None:
        self.transport = transport
        self.since = since  # opened, or last answered
        self.busy = False
        self.served = False  # answered at least once
        # the start of what the client sent since it was opened or last answered; None: nothing
        self.heard: bytes | None = None
        self.encrypted = encrypted  # its raw bytes are TLS records: no request line to read
        self.timer: asyncio.TimerHandle | None = None
        self.tls: asyncio.BaseTransport | None = None  # the TLS transport on top, once up

    def rank(self, fresh_since: float) -> tuple[int, float]:
        """Eviction order, lowest first (see the module's docstring); a new
        connection opened after `fresh_since` that has sent nothing yet goes
        after those midway through a request."""
        if self.heard is None:
            if self.served:  # an answer still going out (a slow reader) is not idle
                return (2 if self.writing() else 0, self.since)
            return (3 if self.since > fresh_since else 1, self.since)
        return (4 if PROBE_LINE.match(self.heard) else 2, self.since)

    def writing(self) -> bool:
        """Is part of an answer still waiting in our buffers (not yet in the kernel's)?"""
        return any(
            isinstance(t, asyncio.WriteTransport) and t.get_write_buffer_size() > 0
            for t in (self.transport, self.tls)
        )


def _unread(transport: asyncio.BaseTransport) -> bytes | None:
    """The start of what the client has sent that the loop has not read yet
    (a MSG_PEEK: the bytes stay for aiohttp), or None if there is none."""
    trsock = transport.get_extra_info("socket")
    if trsock is None or trsock.fileno() < 0:
        return None
    try:
        sock = socket.socket(trsock.family, trsock.type, fileno=trsock.fileno())
    except OSError:
        return None
    try:
        return sock.recv(HEARD, socket.MSG_PEEK | socket.MSG_DONTWAIT) or None
    except OSError:  # nothing there (EAGAIN), or the connection is gone: a fine victim
        return None
    finally:
        sock.detach()  # the descriptor stays the transport's


class ConnectionGuard:
    """Counts the endpoints' connections and closes those over a bound."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: dict[asyncio.BaseTransport, _Conn] = {}  # oldest first
        self._by_tls: dict[asyncio.BaseTransport, _Conn] = {}  # TLS transport → its connection
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0
        self.busy = 0  # connections whose request is being answered

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def may_wait(self) -> bool:
        """Is there room for one more request that may wait (on the database, a
        render), beyond the connections reserved for /healthz? If every
        connection were busy, the guard could only refuse a new probe."""
        reserve = min(self.limits.reserved, self.limits.max_connections // 2)
        return self.busy < self.limits.max_connections - reserve

    def factory(
        self, inner: Callable[[], asyncio.Protocol], tls: ssl.SSLContext | None = None
    ) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for a plain `loop.create_server` that wraps
        `inner`'s protocols, with TLS (if any) started after admission."""
        return lambda: _GuardedProtocol(self, inner(), tls)

    # -- the connection's life, as seen from the protocol and the request middleware

    def admit(self, transport: asyncio.BaseTransport, encrypted: bool = False) -> bool:
        """Take a new connection in, making room if the limit is reached."""
        if len(self._open) >= self.limits.max_connections:
            victim = self._victim()
            if victim is None:
                self.refused += 1
                log.warning(
                    "endpoints: %d connections, all being answered: refused a new one",
                    len(self._open),
                )
                return False
            self.evicted += 1
            log.warning(
                "endpoints: connection limit (%d) reached: closed an idle connection to make room",
                self.limits.max_connections,
            )
            self._close(victim)
        loop = asyncio.get_running_loop()
        conn = _Conn(transport, loop.time(), encrypted)
        self._open[transport] = conn
        self._arm(conn, self.limits.header_timeout)
        return True

    def _find(self, transport: asyncio.BaseTransport | None) -> _Conn | None:
        if transport is None:
            return None
        return self._open.get(transport) or self._by_tls.get(transport)

    def tls_started(self, raw: asyncio.BaseTransport, tls: asyncio.BaseTransport) -> None:
        conn = self._open.get(raw)
        if conn is not None:
            conn.tls = tls
            self._by_tls[tls] = conn

    def heard(self, transport: asyncio.BaseTransport, data: bytes) -> None:
        """The client sent `data` (decrypted, with TLS): keep the start of its request."""
        conn = self._open.get(transport)
        if conn is not None and (conn.heard is None or len(conn.heard) < HEARD):
            conn.heard = (conn.heard or b"") + data[:HEARD]

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        conn = self._find(transport)
        if conn is not None:
            self.busy += not conn.busy
            conn.busy = True
            self._arm(conn, self.limits.request_timeout)

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        """The handler has returned; the response is still to be written, within
        the idle timeout like the next request head."""
        conn = self._find(transport)
        if conn is not None:
            self.busy -= conn.busy
            conn.busy = False
            conn.served, conn.heard = True, None
            conn.since = asyncio.get_running_loop().time()
            self._arm(conn, self.limits.idle_timeout)

    def forget(self, transport: asyncio.BaseTransport) -> None:
        conn = self._open.pop(transport, None)
        if conn is None:
            return
        self.busy -= conn.busy
        if conn.tls is not None:
            self._by_tls.pop(conn.tls, None)
        if conn.timer is not None:
            conn.timer.cancel()

    def close_all(self) -> None:
        for conn in list(self._open.values()):
            self._close(conn)

    # -- internals

    def _victim(self) -> _Conn | None:
        """The first not being answered in the eviction order, if any.

        A silent candidate is first peeked at: if its request is waiting in
        the socket it ranks by that request instead (a probe that connected a
        moment ago must not go because the loop has not read it yet)."""
        fresh_since = asyncio.get_running_loop().time() - self.limits.hello_grace

        def rank(conn: _Conn) -> tuple[int, float]:
            return conn.rank(fresh_since)

        idle = [conn for conn in self._open.values() if not conn.busy]
        for _ in range(len(idle)):  # each turn ends, or moves one on to what it sent
            conn = min(idle, key=rank)
            if conn.heard is not None:
                return conn
            unread = _unread(conn.transport)
            if unread is None:
                return conn
            conn.heard = b"" if conn.encrypted else unread
        return min(idle, key=rank, default=None)

    def _arm(self, conn: _Conn, delay: float) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
        conn.timer = asyncio.get_running_loop().call_later(delay, self._expire, conn)

    def _expire(self, conn: _Conn) -> None:
        conn.timer = None
        if self._open.get(conn.transport) is conn:
            self.timed_out += 1
            log.info("endpoints: closed a connection that kept the server waiting")
            self._close(conn)

    def _close(self, conn: _Conn) -> None:
        self.forget(conn.transport)
        conn.transport.abort()  # type: ignore[attr-defined]


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol, seen through the guard: admitted or refused at
    connection (before any TLS handshake), forgotten at loss; everything
    else is passed on once aiohttp's protocol has its connection."""

    def __init__(
        self, guard: ConnectionGuard, inner: asyncio.Protocol, tls: ssl.SSLContext | None
    ) -> None:
        self._guard = guard
        self._inner = inner
        self._tls = tls
        self._admitted = False
        self._made = False  # aiohttp's protocol has been given its transport
        self._handshake: asyncio.Task[None] | None = None
        # what the TLS layer decrypted before start_tls() returned to us
        self._early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        if not self._guard.admit(transport, encrypted=self._tls is not None):
            transport.abort()  # type: ignore[attr-defined]
            return
        self._admitted = True
        if self._tls is None:
            self._made = True
            self._inner.connection_made(transport)
            return
        transport.pause_reading()  # type: ignore[attr-defined]  # until the TLS layer is on
        assert isinstance(transport, asyncio.WriteTransport)
        self._handshake = asyncio.ensure_future(self._start_tls(transport, self._tls))

    async def _start_tls(self, raw: asyncio.WriteTransport, tls: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            secured = await loop.start_tls(
                raw,
                self,
                tls,
                server_side=True,
                ssl_handshake_timeout=self._guard.limits.header_timeout,
            )
        except Exception as exc:  # the client's failed or abandoned handshake
            log.debug("endpoints: TLS handshake failed: %s", type(exc).__name__)
            self._guard.forget(raw)
            raw.abort()
            return
        if secured is None or not self._admitted:
            return
        self._guard.tls_started(raw, secured)
        self._made = True
        self._inner.connection_made(secured)
        early, self._early = self._early, []
        for data in early:
            self._inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._guard.forget(self._transport)
            self._admitted = False
            if self._made:
                self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._guard.heard(self._transport, data)
        if self._made:
            self._inner.data_received(data)
        elif self._admitted:
            self._early.append(data)  # at most one loop turn's reads

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._made else None

    def pause_writing(self) -> None:
        if self._made:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._made:
            self._inner.resume_writing()


class SingleFlight(Generic[T]):
    """One computation shared by every caller that asks while it runs, and
    reused for `ttl` seconds after: a flood of /readyz or /metrics requests
    costs one database ping or one render, not one per request (each would
    hold a worker thread, and the pool is shared with the daemon's own work)."""

    def __init__(self, compute: Callable[[], Awaitable[T]], ttl: float = 0.0) -> None:
        self._compute = compute
        self._ttl = ttl
        self._running: asyncio.Future[T] | None = None
        self._done_at = 0.0
        self._value: T | None = None
        self._has_value = False
        self.computed = 0

    async def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._has_value and loop.time() - self._done_at < self._ttl:
            return self._value  # type: ignore[return-value]
        if self._running is None:
            self.computed += 1
            self._running = asyncio.ensure_future(self._compute())
            self._running.add_done_callback(self._finished)
        # shielded: a caller that goes away does not cancel the others' answer
        return await asyncio.shield(self._running)

    def _finished(self, future: asyncio.Future[T]) -> None:
        self._running = None
        if not future.cancelled() and future.exception() is None:
            self._value, self._has_value = future.result(), True
            self._done_at = asyncio.get_running_loop().time()
