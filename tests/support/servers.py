"""Loopback servers for engine tests: well-behaved aiohttp apps and hostile raw ones.

Every server binds 127.0.0.1 on port 0 and is stopped by its context
manager. Raw servers count the bytes they managed to hand to the kernel:
writes go through a zero high-water mark and `drain()`, and the socket's
send buffer is shrunk, so `bytes_sent` is what actually left the server,
give or take one chunk and the (small) kernel send buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web

SNDBUF = 32 * 1024


@dataclass
class Concurrency:
    """Requests in flight per Host header, and the highest count seen."""

    now: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total_now: int = 0
    total_peak: int = 0
    starts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def enter(self, host: str) -> None:
        self.now[host] += 1
        self.total_now += 1
        self.peak[host] = max(self.peak[host], self.now[host])
        self.total_peak = max(self.total_peak, self.total_now)
        self.starts[host].append(time.monotonic())

    def leave(self, host: str) -> None:
        self.now[host] -= 1
        self.total_now -= 1


@dataclass
class AppServer:
    port: int
    concurrency: Concurrency
    hits: dict[str, int]


@contextlib.asynccontextmanager
async def app_server(
    routes: web.RouteTableDef | list[web.RouteDef],
    *,
    ssl_context: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[AppServer]:
    """An aiohttp app counting requests (per path) and concurrency (per Host)."""
    conc = Concurrency()
    hits: dict[str, int] = defaultdict(int)

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        name = request.host.rsplit(":", 1)[0]
        hits[request.path] += 1
        conc.enter(name)
        try:
            return await handler(request)
        finally:
            conc.leave(name)

    app = web.Application(middlewares=[count])
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield AppServer(port, conc, hits)
    finally:
        await runner.cleanup()


@dataclass
class RawStats:
    connections: int = 0
    bytes_sent: int = 0
    requests: list[bytes] = field(default_factory=list)


class RawConn:
    """One accepted connection with counted, kernel-paced writes."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: RawStats
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.stats = stats

    async def read_request(self) -> bytes:
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return b""
        self.stats.requests.append(head)
        return head

    async def send(self, data: bytes) -> bool:
        """Write and wait until the kernel took it; False once the peer is gone."""
        if self.writer.is_closing():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            return False
        self.stats.bytes_sent += len(data)
        return True

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0) instead of FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        self.writer.transport.abort()


RawHandler = Callable[[RawConn], Awaitable[None]]


@dataclass
class RawServer:
    port: int
    stats: RawStats


@contextlib.asynccontextmanager
async def raw_server(handler: RawHandler) -> AsyncIterator[RawServer]:
    """A server speaking whatever `handler` writes; byte counts in `stats`."""
    stats = RawStats()
    tasks: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats.connections += 1
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        writer.transport.set_write_buffer_limits(high=0)
        conn = RawConn(reader, writer, stats)
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)  # type: ignore[arg-type]
        try:
            await handler(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield RawServer(port, stats)
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so no one else gets
    it while the test runs) but not listening, so a SYN gets an RST."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose accept queue is full, so a connect() hangs.

    Linux drops a SYN when the listen backlog is full; the client keeps
    retransmitting, which is what a firewalled host looks like.
    """
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = int(lsock.getsockname()[1])
        fillers = []
        try:
            for _ in range(4):
                c = socket.socket()
                c.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    c.connect(("127.0.0.1", port))
                fillers.append(c)
            yield port
        finally:
            for c in fillers:
                c.close()


@contextlib.contextmanager
def accepting_port(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback port whose connections, one at a time on a thread, are each
    given to `answer` (the connection is closed after it); yields the port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        stop = threading.Event()

        def serve() -> None:
            server.settimeout(0.1)
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    answer(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield int(server.getsockname()[1])
        finally:
            stop.set()
            thread.join(5)


@contextlib.contextmanager
def closing_port() -> Iterator[int]:
    """A loopback port that takes connections and closes them at once: a TCP proxy
    or a tunnel whose server is not up."""
    with accepting_port(lambda conn: None) as port:
        yield port


@contextlib.contextmanager
def threaded_app(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], method: str = "*"
) -> Iterator[int]:
    """`handler` answering every path on a loopback port, served from a thread of
    its own (for a CLI run in a subprocess the test waits for); yields the port."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route(method, "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
