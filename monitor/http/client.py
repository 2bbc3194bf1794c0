"""A lean HTTP/1.1 client for checking: keep-alive pool, guarded dialling, raw reads.

Why not `aiohttp.ClientSession`: a check sends one GET and reads a few KiB,
and the session's request/response machinery (request object, header
merging, connector bookkeeping, timers, response object, trace hooks) cost
about 150 µs of CPU per request here, more than half of the client's share
of a check (`bench/http_floor.py`). This client keeps aiohttp's parts that
matter and drops the rest:

- responses are framed by aiohttp's (C) `HttpResponseParser` with the
  session's limits (line 8190 bytes, 128 headers) but for a header value's
  (64 KiB, as real sites send; the head 256 KiB in all: `connection.py`), and
  bodies stream through aiohttp's `StreamReader`, whose flow control pauses
  the socket past 2 x 64 KiB buffered, so a hostile body cannot fill memory;
- names resolve through `GuardedResolver` (connect-to rules, RFC 6761, the
  SSRF vetting) with a 60 s cache, IP literals included, so one path vets
  every address; the socket factory vets the address once more right before
  `connect()`; aiohappyeyeballs dials, as in aiohttp;
- TLS is verified with the run's context; the certificate's expiry is read
  once per connection;
- connections are pooled per (scheme, host, port, TLS name) and reused while
  the server keeps them alive; idle ones close after `KEEPALIVE_S`;
- through an HTTP proxy (the `proxy` setting), an https target over a CONNECT
  tunnel with TLS end to end, an http one in absolute form over kept-alive
  connections to the proxy (`proxy_tunnel.py`); `no_proxy` hosts go direct.

What it does not do (the checker needs none of it): request bodies, methods
other than GET, cookies, HTTPS or SOCKS proxies, automatic redirects,
decompression (the engine decodes under a cap, see `body.py`), HTTP/2.

Errors keep aiohttp's public exception types where one fits (so
`errors.classify_exception` reads both); the connect phase raises
`DNSFailedError`, `ConnectFailedError`, `ConnectionTimeoutError` or the
`ssl` error itself; `StaleConnectionError` means a kept-alive connection
failed before answering, which the engine resends on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohappyeyeballs
from aiohttp import (
    ClientOSError,
    ConnectionTimeoutError,
    ServerDisconnectedError,
)
from aiohttp.abc import ResolveResult
from multidict import CIMultiDictProxy

from monitor import __version__
from monitor.classify import ErrorKind
from monitor.http.aiohttp_parts import (
    HttpProcessingError,
    RawResponseMessage,
    StreamReader,
    parse_mimetype,
)
from monitor.http.connection import (
    ConnectFailedError,
    Connection,
    DNSFailedError,
    StaleConnectionError,
)
from monitor.http.headers import is_utf8
from monitor.http.hostpool import HostHeld
from monitor.http.proxy_tunnel import (
    ProxyFailedError,
    ProxyRoute,
    ProxyTimeoutError,
    answered,
    authority_of,
    read_connect_answer,
)
from monitor.http.resolver import GuardedResolver
from monitor.http.slots import Slots
from monitor.http.target_url import PlainURL, Target
from monitor.http.tls import transport_not_after

__all__ = [
    "Client",
    "ConnectFailedError",
    "DNSFailedError",
    "Response",
    "StaleConnectionError",
    "user_agent",
]

PROJECT_URL = "https://pypi.org/project/article-monitor/"
KEEPALIVE_S = 15.0  # aiohttp's default: an idle connection older than this is closed
DNS_TTL_S = 60.0
CLOSE_WAIT_S = 5.0  # a bound on `close()` waiting for aborted sockets (one loop turn)
DNS_CACHE_MAX = 4096
HAPPY_EYEBALLS_DELAY = 0.25


log = logging.getLogger(__name__)


def user_agent(contact: str | None) -> str:
    """`article-monitor/<version> (+<contact>)`: who we are and how to reach us."""
    return f"article-monitor/{__version__} (+{contact or PROJECT_URL})"


PoolKey = tuple[str, str, int, str | None]


class Response:
    """A response whose body is read on demand; release() or close() it."""

    __slots__ = ("_conn", "_key", "_pool", "content", "headers", "status")

    def __init__(
        self,
        pool: Client,
        key: PoolKey,
        conn: Connection,
        message: RawResponseMessage,
        content: StreamReader,
    ) -> None:
        self._pool: Client | None = pool
        self._key = key
        self._conn = conn
        self.status: int = message.code
        self.headers: CIMultiDictProxy[str] = message.headers
        self.content = content

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return None if value is None else int(value)

    @property
    def charset(self) -> str | None:
        ctype = self.headers.get("Content-Type")
        if ctype is None:
            return None
        charset = parse_mimetype(ctype).parameters.get("charset")
        return charset if charset is not None and is_utf8(charset) else None

    @property
    def not_after(self) -> datetime | None:
        """The expiry of the server's certificate (https only)."""
        return self._conn.not_after

    def release(self) -> None:
        """Back to the pool when the body was read whole and the server keeps
        the connection alive; else close it."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool._limit.give()
        conn = self._conn
        payload = conn.payload
        if (
            self.content.at_eof()
            and (payload is None or payload.is_eof())
            and conn.usable()
            and conn.between_answers()  # no stray bytes kept for the next answer
        ):
            pool._put(self._key, conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close the connection, whatever is left unread."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._limit.give()
        self._conn.close()


class Client:
    """GETs over pooled keep-alive connections. Close with `await close()`."""

    def __init__(
        self,
        resolver: GuardedResolver,
        ssl_context: Callable[[], ssl.SSLContext],
        socket_factory: aiohappyeyeballs.SocketFactoryType,
        *,
        connect_timeout: float,
        user_agent: str,
        limit: int,
        max_idle: int = 512,
        keepalive_s: float = KEEPALIVE_S,
        proxy: ProxyRoute | None = None,
    ) -> None:
        self._resolver = resolver
        self._make_ssl = ssl_context
        self._ssl: ssl.SSLContext | None = None  # made at the first https dial
        self._connect_timeout = connect_timeout
        self._ua = user_agent
        self._max_idle = max_idle
        self._keepalive_s = keepalive_s
        # the global limit of requests in flight (`--concurrency`), held from the
        # request until its response is released
        self._limit = Slots(limit)
        # the daemon's stop came (`stop`): no request starts from then on
        self._stopped = False
        self._idle: dict[PoolKey, list[Connection]] = {}
        self._idle_order: dict[Connection, PoolKey] = {}  # oldest first
        # every open connection, to close them all at the end; weak, so a
        # connection the server closed is forgotten with its transport
        self._live: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._dns: dict[tuple[str, int], tuple[float, list[ResolveResult]]] = {}
        self._dns_pending: dict[tuple[str, int], asyncio.Future[list[ResolveResult]]] = {}
        self._factory = socket_factory
        self._proxy = proxy
        self._proxy_dns: tuple[float, list[aiohappyeyeballs.AddrInfoType]] | None = None
        self._proxy_down = False  # said once while the proxy cannot be reached
        self._closed = False
        self._sweeper: asyncio.TimerHandle | None = None

    async def get(
        self,
        url: Target,
        headers: Mapping[str, str],
        *,
        server_hostname: str | None = None,
        fresh: bool = False,
    ) -> Response:
        """Send `GET url` and return once the response's head has arrived.

        `server_hostname` overrides the TLS name (default: the URL's host).
        Raises StaleConnectionError when a reused connection closed without
        an answer; `fresh=True` then dials a new one for the resend.
        After `stop`, a wait for a free slot raises HostHeld, nothing sent.
        """
        host = url.raw_host or ""
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        tls_name = (server_hostname or host.rstrip(".")) if https else None
        key: PoolKey = (url.scheme, host, port, tls_name)
        if self._proxy is not None and not self._proxy.bypass(host):
            return await self._get_proxied(url, headers, key, fresh, self._proxy)
        if not self._limit.try_take():  # a free slot is taken without a coroutine
            await self._take_slot()
        try:
            conn = None if fresh else self._take(key)
            if conn is None:
                conn = await self._dial(host, port, tls_name)
        except BaseException:
            self._limit.give()
            raise
        # yarl has percent-encoded the path and IDNA-encoded the host (a
        # `PlainURL` is already in that form): the request line and Host header
        # are ASCII without CR or LF. The host in brackets when it is an IPv6
        # address, as yarl's `host_subcomponent` writes it (a property computed
        # anew for each URL object: ~1.5 thousand instructions a request)
        if type(url) is PlainURL:
            authority = url.host_header
        else:
            authority = f"[{host}]" if ":" in host else host
            if not url.is_default_port():
                authority = f"{authority}:{port}"
        head = [f"GET {url.raw_path_qs} HTTP/1.1\r\nHost: {authority}"]
        message, content = await self._send(conn, head, headers)
        return Response(self, key, conn, message, content)

    async def _take_slot(self) -> None:
        """Wait for a free request slot; a wait leaves at `stop` and none begins
        after it (HostHeld): a check's first request, nothing of it sent, or
        another request of a check under way (a retry, a redirect's hop)."""
        if self._stopped:
            raise HostHeld(0.0)
        await self._limit.take()
        if self._stopped:  # handed its slot as a request ended, then the stop came
            # before this ran (`stop` fails only the waits still waiting): it sent
            # its request after the stop
            self._limit.give()
            raise HostHeld(0.0)

    def stop(self) -> None:
        """The daemon stops (its checker process was told, or in-process): the
        requests waiting for a free slot (checks past their host's gate, nothing
        sent) leave with HostHeld, to be answered as not started (requests.py),
        as those waiting at the gate do (HostPool.stop). Kept waiting, each
        started its request after the stop once a request in flight ended: a
        check waiting out a hold aside (requests.py `park`) lets a process run
        more checks than its slots (R28: a page's first request started 1.3 s
        after SIGTERM). So do the others waiting (a check's retry or redirect's
        hop past its host's gate): no request starts after the stop."""
        self._stopped = True
        for waiter in self._limit.waiters:
            if not waiter.done():
                waiter.set_exception(HostHeld(0.0))

    async def _send(
        self, conn: Connection, head: list[str], headers: Mapping[str, str]
    ) -> tuple[RawResponseMessage, StreamReader]:
        """Finish the request's head (`head`: its first lines) with the User-Agent
        and `headers`, send it on `conn` and return the response's head. A
        failure closes `conn` and gives its slot back."""
        reused = conn.requests > 0
        if "User-Agent" not in headers:  # a `request_headers` rule may set its own
            head.append(f"\r\nUser-Agent: {self._ua}")
        for name, value in headers.items():
            head.append(f"\r\n{name}: {value}")
        head.append("\r\n\r\n")
        try:
            return await conn.send("".join(head).encode("latin-1"))
        except (ServerDisconnectedError, ClientOSError, HttpProcessingError) as exc:
            # on a reused connection, a close or garbled framing (stray bytes
            # left by the previous answer) says nothing about this target
            conn.close()
            self._limit.give()
            if reused:
                raise StaleConnectionError() from exc
            raise
        except BaseException:
            conn.close()
            self._limit.give()
            raise

    async def _get_proxied(
        self,
        url: Target,
        headers: Mapping[str, str],
        key: PoolKey,
        fresh: bool,
        proxy: ProxyRoute,
    ) -> Response:
        """`get` through the proxy: https through a CONNECT tunnel (pooled as a
        direct connection to the target is), http in absolute form over a
        connection to the proxy (pooled under the proxy's own key)."""
        scheme, host, port, tls_name = key
        # vetted before any slot is taken: a refused target costs no connection
        dial_host, dial_port = self._resolver.vet_for_proxy(host, port)
        target = authority_of(dial_host, dial_port)
        if tls_name is None:
            key = ("proxy", proxy.dial_host, proxy.port, None)
        if not self._limit.try_take():
            await self._take_slot()
        try:
            conn = None if fresh else self._take(key)
            if conn is None:
                conn = await self._dial_proxy(proxy, target, tls_name)
        except BaseException:
            self._limit.give()
            raise
        authority = url.host_subcomponent or host
        if not url.is_default_port():
            authority = f"{authority}:{port}"
        if tls_name is None:  # absolute form, to the address the connect-to rules give
            head = [f"GET {scheme}://{target}{url.raw_path_qs} HTTP/1.1\r\nHost: {authority}"]
            if proxy.authorization is not None:
                head.append(f"\r\nProxy-Authorization: {proxy.authorization}")
        else:
            head = [f"GET {url.raw_path_qs} HTTP/1.1\r\nHost: {authority}"]
        message, content = await self._send(conn, head, headers)
        if tls_name is None and message.code == 407:  # the proxy's, not the target's
            conn.close()
            self._limit.give()
            said = answered(407, message.reason, proxy.secrets)
            raise ProxyFailedError(
                ErrorKind.REFUSED, f"proxy {proxy.address} answered {said} to GET for {target}"
            )
        return Response(self, key, conn, message, content)

    async def _dial_proxy(
        self, proxy: ProxyRoute, tunnel_to: str, tls_name: str | None
    ) -> Connection:
        """A connection to the proxy; with `tls_name` (an https target), a CONNECT
        tunnel to `tunnel_to` with TLS to the target through it, end to end: its
        certificate checked and its expiry read as on a direct connection.
        Bounded by the connect timeout, the CONNECT answer's read included."""
        loop = asyncio.get_running_loop()
        # before the connect timer, as in `_dial`: the first https dial loads the store
        tls = self._ssl_context() if tls_name is not None else None
        sock: socket.socket | None = None
        try:
            async with asyncio.timeout(self._connect_timeout):
                infos = await self._proxy_addresses(proxy)
                try:  # the operator's own proxy: no guard (no socket_factory)
                    sock = await aiohappyeyeballs.start_connection(
                        infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY, loop=loop
                    )
                except OSError as exc:
                    why = exc.strerror or type(exc).__name__
                    if isinstance(exc, ConnectionRefusedError):
                        why = "connection refused"
                    self._proxy_unreachable(proxy, why)
                    raise ProxyFailedError(
                        ErrorKind.REFUSED, f"cannot connect to proxy {proxy.address}: {why}"
                    ) from None
                if self._proxy_down:
                    self._proxy_down = False
                    log.warning("proxy %s answers again", proxy.address)
                if tls_name is not None:
                    request = f"CONNECT {tunnel_to} HTTP/1.1\r\nHost: {tunnel_to}\r\n"
                    if proxy.authorization is not None:
                        request += f"Proxy-Authorization: {proxy.authorization}\r\n"
                    request += f"User-Agent: {self._ua}\r\n\r\n"
                    try:
                        await loop.sock_sendall(sock, request.encode("latin-1"))
                        await read_connect_answer(
                            loop, sock, proxy.address, tunnel_to, proxy.secrets
                        )
                    except ProxyFailedError:
                        raise
                    except OSError as exc:
                        raise ProxyFailedError(
                            ErrorKind.RESET,
                            f"proxy {proxy.address}: connection failed during CONNECT "
                            f"{tunnel_to}: {exc.strerror or type(exc).__name__}",
                        ) from None
                try:
                    _, conn = await loop.create_connection(
                        lambda: Connection(loop),
                        sock=sock,
                        ssl=tls,
                        server_hostname=tls_name,
                    )
                except ssl.SSLError:  # as is: `classify_exception` reads the TLS reason
                    raise
                except OSError as exc:  # the TLS handshake with the target, through the tunnel
                    raise ConnectFailedError(tunnel_to, exc) from exc
        except TimeoutError:
            if sock is not None:
                sock.close()
            else:
                self._proxy_unreachable(proxy, "no connection within connect_timeout")
            raise ProxyTimeoutError(proxy.address) from None
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        if tls_name is not None:
            conn.not_after = transport_not_after(conn.transport)
        self._live.add(conn)
        return conn

    def _proxy_unreachable(self, proxy: ProxyRoute, why: str) -> None:
        """Said once, until the proxy answers again: every check through it fails
        alike, and each target's error alone did not tell an operator watching
        every target go down that the proxy was the cause."""
        if not self._proxy_down:
            self._proxy_down = True
            log.warning(
                "proxy %s cannot be reached (%s): every check through it fails until it answers",
                proxy.address,
                why,
            )

    async def _proxy_addresses(self, proxy: ProxyRoute) -> list[aiohappyeyeballs.AddrInfoType]:
        """The proxy's addresses, looked up without the guard, cached for DNS_TTL_S."""
        cached = self._proxy_dns
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(
                proxy.dial_host, proxy.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except OSError:
            self._proxy_unreachable(proxy, "its name does not resolve")
            raise ProxyFailedError(
                ErrorKind.REFUSED, f"proxy {proxy.address}: name does not resolve"
            ) from None
        infos: list[aiohappyeyeballs.AddrInfoType] = [(f, t, p, "", a) for f, t, p, _, a in found]
        self._proxy_dns = (time.monotonic() + DNS_TTL_S, infos)
        return infos

    def _take(self, key: PoolKey) -> Connection | None:
        idle = self._idle.get(key)
        if idle is None:
            return None
        horizon = time.monotonic() - self._keepalive_s
        found = None
        while idle:
            conn = idle.pop()  # the most recently used: the likeliest still open
            del self._idle_order[conn]
            if conn.usable() and conn.idle_since >= horizon:
                found = conn
                break
            conn.close()
        if not idle:
            del self._idle[key]  # no empty lists left behind, one per host ever seen
        return found

    def _put(self, key: PoolKey, conn: Connection) -> None:
        if self._closed:
            conn.close()
            return
        if len(self._idle_order) >= self._max_idle:
            # full: the connection idle the longest goes, whichever host it is for
            self._drop_idle(next(iter(self._idle_order)))
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)
        self._idle_order[conn] = key
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self._keepalive_s, self._sweep, loop)

    def _drop_idle(self, conn: Connection) -> None:
        key = self._idle_order.pop(conn)
        others = self._idle[key]
        others.remove(conn)
        if not others:
            del self._idle[key]
        conn.close()

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the connections idle past the keep-alive horizon, so a
        long-running daemon does not hold a socket per host it ever met."""
        self._sweeper = None
        horizon = time.monotonic() - self._keepalive_s
        for conn in [c for c in self._idle_order if c.idle_since < horizon]:
            self._drop_idle(conn)
        if self._idle_order:
            self._sweeper = loop.call_later(self._keepalive_s, self._sweep, loop)

    async def _dial(self, host: str, port: int, tls_name: str | None) -> Connection:
        # before any wait: the first https dial loads the trust store (~20 ms, more
        # for a big SSL_CERT_FILE), which inside the connect timeout failed the
        # first https targets as timeouts when the load outlasted connect_timeout
        tls = self._ssl_context() if tls_name is not None else None
        found = await self._resolve(host, port)
        infos = [_addr_info(r) for r in found]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                sock = await aiohappyeyeballs.start_connection(
                    infos,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                    loop=loop,
                    socket_factory=self._factory,
                )
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
                    sock=sock,
                    ssl=tls,
                    server_hostname=tls_name,
                )
        except TimeoutError as exc:
            raise ConnectionTimeoutError("timed out connecting") from exc
        except ssl.SSLError:  # as is: `classify_exception` reads the TLS reason
            raise
        except OSError as exc:
            raise ConnectFailedError(host, exc) from exc
        if tls_name is not None:
            conn.not_after = transport_not_after(conn.transport)
        self._live.add(conn)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        """The run's TLS context, made once, when first needed (loading the
        system trust store costs ~50 ms, and many runs have no https target)."""
        if self._ssl is None:
            self._ssl = self._make_ssl()
        return self._ssl

    async def _resolve(self, host: str, port: int) -> list[ResolveResult]:
        """The vetted addresses of host:port, cached for DNS_TTL_S; concurrent
        dials of one name share one lookup."""
        key = (host, port)
        cached = self._dns.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        task = self._dns_pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(key))
            self._dns_pending[key] = task
            task.add_done_callback(lambda t: self._looked_up(key, t))
        try:
            return await asyncio.shield(task)
        except OSError as exc:
            if isinstance(exc, TimeoutError) and exc.errno is None:
                raise
            raise DNSFailedError(host) from exc

    async def _lookup(self, key: tuple[str, int]) -> list[ResolveResult]:
        found = await self._resolver.resolve(key[0], key[1], socket.AF_UNSPEC)
        now = time.monotonic()
        if len(self._dns) >= DNS_CACHE_MAX:  # a daemon meets hosts without end
            self._dns = {k: v for k, v in self._dns.items() if v[0] > now}
            if len(self._dns) >= DNS_CACHE_MAX:
                self._dns.clear()
        self._dns[key] = (now + DNS_TTL_S, found)
        return found

    def _looked_up(self, key: tuple[str, int], task: asyncio.Future[Any]) -> None:
        self._dns_pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved, even when every caller has gone

    async def close(self) -> None:
        """Close every connection, idle or busy, and return once their sockets are.

        A transport closes its socket only on a later turn of the loop (a TLS one
        after a close_notify exchange that a peer may never answer): aborted and
        awaited here, no socket outlives the client to be found by the collector.
        """
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        conns = {conn for idle in self._idle.values() for conn in idle}
        conns.update(self._live)
        self._idle.clear()
        self._idle_order.clear()
        self._live.clear()
        for conn in conns:
            conn.abort()
        waits = [asyncio.ensure_future(c.gone.wait()) for c in conns if not c.gone.is_set()]
        if waits:  # aborted: their sockets close on the next turn of the loop
            _, late = await asyncio.wait(waits, timeout=CLOSE_WAIT_S)
            for wait in late:
                wait.cancel()
        await self._resolver.close()


def _addr_info(found: ResolveResult) -> aiohappyeyeballs.AddrInfoType:
    host, port = found["host"], found["port"]
    if ":" in host:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))
