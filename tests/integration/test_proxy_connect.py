"""The CONNECT exchange against a proxy that misbehaves, and the private-address
guard with a proxy, through the engine (a raw loopback "proxy" answering by
the host it is asked to CONNECT to; the real proxy's tests are
tests/acceptance/test_proxy_check.py).

The proxy listens on 127.0.0.1 and no network is allowed: the proxy's own
address is exempt from the guard (the operator named it), while an IP-literal
target on loopback is still blocked and never asked of the proxy, `localhost`
too, and a `.invalid` name does not resolve. A name is not resolved here: the
proxy is asked to CONNECT to it (`news.example` resolves nowhere).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.certs import CertAuthority
from support.settings import settings
from yarl import URL

from monitor.http import Checker
from monitor.http.client import Client
from monitor.http.guard import AddressPolicy
from monitor.http.proxy_tunnel import ProxyRoute
from monitor.http.resolver import GuardedResolver, guarded_socket_factory
from monitor.proxy import ProxyUrl
from monitor.vocabulary import Kind, Outcome

ANSWERS = {
    "garbage.example": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "big.example": b"HTTP/1.1 200 Connection established\r\nX-Pad: " + b"a" * 20_000,
    "forbidden.example": b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    "chatty.example": b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "closed.example": b"",
}

PAGE = b"<html><head><title>t</title></head><body>x</body></html>"
PAGE_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
    len(PAGE),
    PAGE,
)


async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    """CONNECT answered 200, then bytes copied both ways until either side closes."""
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        dst.close()

    try:
        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
    except OSError:
        pass
    finally:
        up_writer.close()


@asynccontextmanager
async def fake_proxy(asked: list[str], connections: list[str] | None = None) -> AsyncIterator[int]:
    """A proxy answering each CONNECT by its host (ANSWERS; else a 502), then
    closing; absolute-form GETs with a page, on a kept-alive connection. `asked`
    gets each request line (and an absolute-form request's head), `connections`
    each connection's first line."""
    connections = [] if connections is None else connections

    handlers: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            asked.append(line)
            connections.append(line)
            while line.startswith("GET "):  # absolute form: a page each, kept alive
                asked.append(head.decode("latin-1"))
                writer.write(PAGE_ANSWER)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                asked.append(line)
            host = line.split(" ")[1].rsplit(":", 1)[0]
            if host == "127.0.0.1":  # a real tunnel, to the loopback port asked for
                await tunnel(reader, writer, int(line.split(" ")[1].rsplit(":", 1)[1]))
                return
            if host == "silent.example":  # answers nothing; the client gives up and closes
                await reader.read(1)
                return
            writer.write(ANSWERS.get(host, b"HTTP/1.1 502 Bad Gateway\r\n\r\n"))
            await writer.drain()  # then closed: the client has read what it needs by then
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        # each handler ends at its client's close: none left pending for the loop's end
        pending = [t for t in handlers if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)
        await server.wait_closed()


async def test_a_misbehaving_proxy_is_a_connection_error_naming_it() -> None:
    asked: list[str] = []
    async with fake_proxy(asked) as port:
        proxy = f"http://u:pw-3c9a@127.0.0.1:{port}"
        s = settings(None, allow_network=[], proxy=proxy, connect_timeout=3.0)
        async with Checker(s) as checker:
            results = {
                host: await checker.check(f"https://{host}/", Kind.WEB)
                for host in [*ANSWERS, "news.example"]
            }
    said = f"proxy 127.0.0.1:{port}"
    expected = {
        "garbage.example": f"{said}'s answer to CONNECT garbage.example:443 is not a valid "
        "HTTP response",
        "big.example": f"{said}'s answer to CONNECT big.example:443 has a head over 16384 bytes",
        "forbidden.example": f"{said} answered 403 Forbidden to CONNECT forbidden.example:443",
        "chatty.example": f"{said} sent bytes after its answer to CONNECT chatty.example:443",
        "closed.example": f"{said} closed the connection without answering CONNECT "
        "closed.example:443",
        "news.example": f"{said} answered 502 Bad Gateway to CONNECT news.example:443",
    }
    for host, error in expected.items():
        assert results[host].outcome is Outcome.CONNECTION_ERROR, (host, results[host])
        assert results[host].error == error, host
    assert "pw-3c9a" not in repr(results)
    assert "CONNECT news.example:443 HTTP/1.1" in asked


async def test_the_guard_still_judges_what_it_can_with_a_proxy() -> None:
    asked: list[str] = []
    async with fake_proxy(asked) as port:
        s = settings(None, allow_network=[], proxy=f"http://127.0.0.1:{port}")
        async with Checker(s) as checker:
            literal = await checker.check("https://127.0.0.1/", Kind.WEB)
            mapped = await checker.check("http://[::ffff:10.0.0.1]/", Kind.WEB)
            local = await checker.check("https://localhost/", Kind.WEB)
            invalid = await checker.check("https://nowhere.invalid/", Kind.WEB)
            named = await checker.check("https://news.example/", Kind.WEB)
    assert literal.outcome is Outcome.BLOCKED, literal
    assert mapped.outcome is Outcome.BLOCKED, mapped
    assert local.outcome is Outcome.BLOCKED, local
    assert invalid.outcome is Outcome.DNS_ERROR, invalid
    assert named.outcome is Outcome.CONNECTION_ERROR, named
    assert asked == ["CONNECT news.example:443 HTTP/1.1"]


async def test_no_proxy_hosts_are_dialled_directly_and_vetted() -> None:
    """A `no_proxy` host is resolved and vetted here as without a proxy."""
    asked: list[str] = []
    async with fake_proxy(asked) as port:
        s = settings(
            None,
            allow_network=[],
            proxy=f"http://127.0.0.1:{port}",
            no_proxy=["127.0.0.1", "*.invalid"],
        )
        async with Checker(s) as checker:
            literal = await checker.check("https://127.0.0.1/", Kind.WEB)
            invalid = await checker.check("https://a.nowhere.invalid/", Kind.WEB)
    assert literal.outcome is Outcome.BLOCKED, literal
    assert invalid.outcome is Outcome.DNS_ERROR, invalid
    assert asked == []


async def test_a_proxy_that_never_answers_connect_is_a_timeout_naming_it() -> None:
    """Bounded by connect_timeout (0.3 s here): a bounded wait, not a timing."""
    asked: list[str] = []
    async with fake_proxy(asked) as port:
        s = settings(None, proxy=f"http://127.0.0.1:{port}", connect_timeout=0.3)
        async with Checker(s) as checker:
            result = await checker.check("https://silent.example/", Kind.WEB)
    assert result.outcome is Outcome.TIMEOUT, result
    assert result.error == f"timed out connecting through proxy 127.0.0.1:{port}"
    assert asked == ["CONNECT silent.example:443 HTTP/1.1"]


async def test_a_tunnel_does_not_time_the_store_load(tmp_path: Path) -> None:
    """TLS through a tunnel, the run's first https dial: the trust store's load
    (0.6 s here, a big SSL_CERT_FILE's) is made before the connect timer (0.5 s),
    as for a direct dial (tests/integration/test_http_client_tls_load.py); and the
    certificate's expiry is read through the tunnel."""
    ca = CertAuthority(tmp_path)
    leaf = ca.issue(["a.test"])

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=leaf.server_context())

    def slow_store() -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(ca.cert_file))
        time.sleep(0.6)  # as a big bundle's load blocks: synchronously
        return ctx

    asked: list[str] = []
    # the connect-to rule's loopback address is vetted, as any address given to the proxy
    target_port = server.port
    s = settings({"a.test": target_port})
    policy = AddressPolicy.from_networks(s.networks)
    async with fake_proxy(asked) as port:
        proxy = ProxyUrl.parse(f"http://127.0.0.1:{port}")
        client = Client(
            GuardedResolver(policy, s.connect_to),
            slow_store,
            guarded_socket_factory(policy),
            connect_timeout=0.5,
            user_agent="test",
            limit=4,
            proxy=ProxyRoute(proxy, []),
        )
        try:
            resp = await client.get(URL("https://a.test/"), {})
            assert resp.status == 200
            assert resp.not_after is not None
            assert resp.not_after.date() == leaf.not_after.date()
            assert await resp.content.read(10) == b"ok"
            resp.release()
        finally:
            await client.close()
            await server.close()
    assert asked == [f"CONNECT 127.0.0.1:{target_port} HTTP/1.1"]


async def test_http_targets_share_kept_alive_connections_to_the_proxy() -> None:
    """Absolute-form requests to two hosts go over one connection to the proxy
    (its pool key is the proxy's), with the credentials on each; the names are
    the proxy's to resolve (neither resolves here)."""
    asked: list[str] = []
    connections: list[str] = []
    async with fake_proxy(asked, connections) as port:
        s = settings(None, allow_network=[], proxy=f"http://ops:pw%21@127.0.0.1:{port}")
        async with Checker(s) as checker:
            first = await checker.check("http://one.example/a?x=1", Kind.WEB)
            second = await checker.check("http://two.example:8080/b", Kind.WEB)
    assert first.outcome is Outcome.OK and second.outcome is Outcome.OK, (first, second)
    assert len(connections) == 1, connections
    heads = [h for h in asked if "\r\n" in h]
    assert heads[0].startswith("GET http://one.example:80/a?x=1 HTTP/1.1\r\nHost: one.example\r\n")
    assert heads[1].startswith(
        "GET http://two.example:8080/b HTTP/1.1\r\nHost: two.example:8080\r\n"
    )
    for head in heads:  # base64 of ops:pw!
        assert "\r\nProxy-Authorization: Basic b3BzOnB3IQ==\r\n" in head, head


async def test_a_proxy_that_cannot_be_reached_is_said_once_then_its_return(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every target through a proxy that is down fails alike: one warning says the
    proxy is the cause (not one per target), and one says when it answers again."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on, for now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = settings(None, proxy=f"http://127.0.0.1:{port}", connect_timeout=2.0)
    caplog.set_level(logging.WARNING, logger="monitor.http.client")
    async with Checker(s) as checker:
        down = [await checker.check(f"http://news.example/{n}", Kind.WEB) for n in range(3)]
        asked: list[str] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            asked.append((await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0].decode())
            writer.write(PAGE_ANSWER)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", port)
        try:
            up = await checker.check("http://news.example/back", Kind.WEB)
        finally:
            server.close()
            await server.wait_closed()
    assert [r.outcome for r in down] == [Outcome.CONNECTION_ERROR] * 3, down
    assert up.outcome is Outcome.OK, up
    assert asked == ["GET http://news.example:80/back HTTP/1.1"], asked
    said = [r.getMessage() for r in caplog.records if r.name == "monitor.http.client"]
    assert said == [
        f"proxy 127.0.0.1:{port} cannot be reached (connection refused): every check "
        "through it fails until it answers",
        f"proxy 127.0.0.1:{port} answers again",
    ], said
