"""The lean HTTP/1.1 client against raw loopback servers: pooling, limits, framing."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from support.servers import RawConn, RawServer, raw_server
from support.settings import LOOPBACK
from yarl import URL

from monitor.http.aiohttp_parts import HttpProcessingError
from monitor.http.client import Client, StaleConnectionError
from monitor.http.guard import AddressPolicy
from monitor.http.resolver import GuardedResolver, guarded_socket_factory
from monitor.http.tls import make_ssl_context

POLICY = AddressPolicy.from_networks(__import__("ipaddress").ip_network(n) for n in LOOPBACK)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Counting(AbstractResolver):
    """Every name is 127.0.0.1, after a pause; counts the lookups."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        await asyncio.sleep(0.05)
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": 0,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        pass


def client(*, resolver: AbstractResolver | None = None, limit: int = 8, **kwargs: float) -> Client:
    tls: ssl.SSLContext = make_ssl_context()
    return Client(
        GuardedResolver(POLICY, inner=resolver),
        lambda: tls,
        guarded_socket_factory(POLICY),
        connect_timeout=1.0,
        user_agent="test",
        limit=limit,
        **kwargs,  # type: ignore[arg-type]
    )


async def keep_alive(conn: RawConn) -> None:
    """Answer every request on the connection with a small 200."""
    while await conn.read_request():
        if not await conn.send(OK):
            return


@contextlib.asynccontextmanager
async def servers(count: int) -> AsyncIterator[list[RawServer]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(raw_server(keep_alive)) for _ in range(count)]


async def fetch(c: Client, url: str) -> bytes:
    resp = await c.get(URL(url), {})
    body = await resp.content.read(100)
    assert await resp.content.read(100) == b""
    resp.release()
    return body


async def test_a_kept_alive_connection_serves_the_next_request() -> None:
    async with servers(1) as (srv,):
        c = client()
        try:
            for _ in range(3):
                assert await fetch(c, f"http://127.0.0.1:{srv.port}/") == b"ok"
        finally:
            await c.close()
    assert srv.stats.connections == 1
    assert len(srv.stats.requests) == 3
    assert srv.stats.requests[0].startswith(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:")


async def test_the_idle_pool_drops_the_longest_idle_connection_when_full() -> None:
    async with servers(3) as (a, b, c_):
        c = client(max_idle=2)
        try:
            for srv in (a, b, c_):
                await fetch(c, f"http://127.0.0.1:{srv.port}/")
            await fetch(c, f"http://127.0.0.1:{c_.port}/")  # still pooled
            await fetch(c, f"http://127.0.0.1:{a.port}/")  # evicted: dials again
            assert len(c._idle_order) == 2
            assert all(c._idle.values())  # no empty per-host lists left behind
        finally:
            await c.close()
    assert (a.stats.connections, b.stats.connections, c_.stats.connections) == (2, 1, 1)


async def test_a_connection_idle_past_the_keepalive_is_not_reused() -> None:
    async with servers(1) as (srv,):
        c = client(keepalive_s=0.05)
        try:
            await fetch(c, f"http://127.0.0.1:{srv.port}/")
            await asyncio.sleep(0.15)
            await fetch(c, f"http://127.0.0.1:{srv.port}/")
        finally:
            await c.close()
    assert srv.stats.connections == 2


async def test_idle_connections_are_closed_after_the_keepalive() -> None:
    """A daemon must not hold a socket for every host it ever met."""
    ended = asyncio.Event()

    async def once_then_wait(conn: RawConn) -> None:
        await keep_alive(conn)  # returns when the client closes the connection
        ended.set()

    async with raw_server(once_then_wait) as srv:
        c = client(keepalive_s=0.05)
        try:
            await fetch(c, f"http://127.0.0.1:{srv.port}/")
            await asyncio.wait_for(ended.wait(), 2)  # closed by the sweep, not by a request
            assert not c._idle_order and not c._idle
            assert c._sweeper is None  # nothing idle: the sweep stops
        finally:
            await c.close()


@pytest.mark.parametrize("later", [False, True], ids=["with-the-answer", "while-idle"])
async def test_stray_bytes_after_an_answer_retire_the_connection(later: bool) -> None:
    """Bytes after a complete answer (the start of a second one) leave the
    connection's framing unknown: the next request goes on a fresh one."""

    async def chatty(conn: RawConn) -> None:
        if await conn.read_request():
            if later:
                await conn.send(OK)
                await asyncio.sleep(0.02)
                await conn.send(b"HTTP/1.1 200 OK\r\n")
            else:
                await conn.send(OK + b"HTTP/1.1 200 OK\r\n")
            while await conn.read_request():
                await conn.send(OK)

    async with raw_server(chatty) as srv:
        url = URL(f"http://127.0.0.1:{srv.port}/")
        c = client()
        try:
            await fetch(c, str(url))
            await asyncio.sleep(0.1)
            try:
                resp = await c.get(url, {})  # found retired while idle
            except StaleConnectionError:  # found garbled when the answer came
                assert not later
                resp = await c.get(url, {}, fresh=True)
            assert resp.status == 200
            assert await resp.content.read(10) == b"ok"
            resp.release()
        finally:
            await c.close()
    assert srv.stats.connections == 2


async def test_informational_responses_are_skipped() -> None:
    async def hints(conn: RawConn) -> None:
        if await conn.read_request():
            await conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK)

    async with raw_server(hints) as srv:
        c = client()
        try:
            resp = await c.get(URL(f"http://127.0.0.1:{srv.port}/"), {})
            assert resp.status == 200
            assert await resp.content.read(10) == b"ok"
            resp.release()
        finally:
            await c.close()


async def test_a_stream_of_informational_responses_is_cut_short() -> None:
    """A server answering 100 Continue forever is refused at once, not read
    until the deadline: nothing else caps what it sends."""

    async def stalling(conn: RawConn) -> None:
        if await conn.read_request():
            for _ in range(100_000):
                if not await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n"):
                    return

    async with raw_server(stalling) as srv:
        c = client()
        try:
            with pytest.raises(HttpProcessingError, match="1xx"):
                await asyncio.wait_for(c.get(URL(f"http://127.0.0.1:{srv.port}/"), {}), 5)
        finally:
            await c.close()
    assert srv.stats.bytes_sent < 256 * 1024  # a few of them, and the socket buffers


async def test_concurrent_dials_to_one_name_share_one_lookup() -> None:
    resolver = Counting()
    async with servers(1) as (srv,):
        c = client(resolver=resolver)
        try:
            bodies = await asyncio.gather(
                *(fetch(c, f"http://news.example:{srv.port}/{i}") for i in range(5))
            )
            await fetch(c, f"http://news.example:{srv.port}/again")  # cached
        finally:
            await c.close()
    assert bodies == [b"ok"] * 5
    assert resolver.asked == ["news.example"]
    assert srv.stats.requests[0].split(b"\r\n")[1] == f"Host: news.example:{srv.port}".encode()


async def test_the_global_limit_holds_until_a_response_is_released() -> None:
    async with servers(1) as (srv,):
        c = client(limit=1)
        try:
            first = await c.get(URL(f"http://127.0.0.1:{srv.port}/1"), {})
            second = asyncio.create_task(c.get(URL(f"http://127.0.0.1:{srv.port}/2"), {}))
            await asyncio.sleep(0.1)
            assert not second.done()  # waits for the one slot
            assert len(srv.stats.requests) == 1
            first.release()
            (await asyncio.wait_for(second, 2)).close()
        finally:
            await c.close()
    assert len(srv.stats.requests) == 2
