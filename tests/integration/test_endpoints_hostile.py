"""The endpoints under attack, on real loopback sockets: connection floods,
slowloris, idle keep-alive, clients that never read, malformed credentials.

Limits are lowered so a flood needs tens of sockets, not thousands. Waits are
polls on events (a socket closed, a counter reached) under a generous ceiling,
never assertions on speed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.endpoints_raw import (
    CEILING,
    closed_by_server,
    get_request,
    start_server,
    status_of,
    until,
)

from monitor.observe.endpoints import MetricsServer
from monitor.observe.guard import ConnectionLimits

JUNK = "ZZJUNKZZ"  # marks client bytes: never in the log


# -- floods and slow clients


async def test_a_flood_of_half_sent_requests_cannot_starve_health(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    limits = ConnectionLimits(max_connections=20, header_timeout=CEILING, idle_timeout=CEILING)
    srv = await make_server(limits)
    streams = []
    closed: list[asyncio.Task[bool]] = []
    try:
        for _ in range(50):
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # the head never ends
            streams.append(writer)
            closed.append(asyncio.create_task(closed_by_server(reader)))
        await until(lambda: srv.guard.evicted >= 30, "the oldest were closed to make room")
        assert srv.guard.open_connections <= 20
        # health gets in, under the limit, while the flood holds its connections
        assert await status_of(srv.port, get_request("/healthz")) == 200
        await until(lambda: sum(t.done() for t in closed) >= 31, "client sockets saw the close")
        assert all(t.result() for t in closed if t.done())
        assert srv.guard.open_connections <= 20
    finally:
        for writer in streams:
            writer.close()
        for task in closed:
            task.cancel()


async def test_slowloris_byte_by_byte_is_cut_off(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    srv = await make_server(ConnectionLimits(header_timeout=0.5, idle_timeout=CEILING))
    head = get_request("/metrics", b"X-Pad: " + b"a" * 3000)  # 3 KB at 20 bytes/s: minutes
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    eof = asyncio.create_task(closed_by_server(reader))
    sent = 0
    try:
        for byte in head:
            if eof.done():
                break
            writer.write(bytes([byte]))
            sent += 1
            await asyncio.sleep(0.05)
            assert (
                await status_of(srv.port, get_request("/healthz")) == 200
                if sent % 20 == 0
                else True
            )
    except ConnectionError:
        pass
    finally:
        writer.close()
    assert eof.done() and eof.result(), "the server closed the slow connection"
    assert sent < len(head)
    assert srv.guard.timed_out >= 1


async def test_an_idle_keep_alive_connection_is_closed(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    srv = await make_server(ConnectionLimits(idle_timeout=0.3))
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await reader.readuntil(b"ok\n")
        assert answer.startswith(b"HTTP/1.1 200")
        async with asyncio.timeout(CEILING):
            assert await closed_by_server(reader)
    finally:
        writer.close()
    await until(lambda: srv.guard.open_connections == 0, "the guard forgot it")


async def test_a_client_that_never_reads_is_cut_off(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    srv = await make_server(ConnectionLimits(idle_timeout=0.5, request_timeout=0.5))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.setblocking(False)
    auth = b"Authorization: Bearer tok"
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n\r\n"
    _reader, writer = await asyncio.open_connection(sock=sock)
    try:
        for _ in range(2000):  # pipelined; the answers are never read
            writer.write(request)
            if srv.guard.timed_out:
                break
            try:
                async with asyncio.timeout(0.5):
                    await writer.drain()
            except TimeoutError:
                break  # the server stopped reading: its writes are blocked
        await until(lambda: srv.guard.timed_out >= 1, "the stuck connection was cut off")
        await until(lambda: srv.guard.open_connections == 0, "and forgotten")
    finally:
        writer.close()
    assert await status_of(srv.port, get_request("/healthz")) == 200


async def test_new_connections_are_refused_only_when_all_are_being_answered(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    release = asyncio.Event()

    async def slow_ready() -> tuple[bool, dict[str, Any]]:
        await release.wait()
        return True, {}

    limits = ConnectionLimits(max_connections=3, reserved=0)  # no connection kept for probes
    srv = await make_server(limits, readiness=slow_ready)
    busy = [asyncio.create_task(status_of(srv.port, get_request("/readyz"))) for _ in range(3)]
    await until(lambda: srv.guard.open_connections == 3, "three requests in flight")
    assert await status_of(srv.port, get_request("/healthz")) == 0  # refused: nothing idle to close
    assert srv.guard.refused == 1
    release.set()
    assert [await t for t in busy] == [200, 200, 200]
    assert await status_of(srv.port, get_request("/healthz")) == 200


# -- malformed requests: never a 5xx, one log line, none of the client's bytes


def _basic_raw(raw: bytes) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(raw)


AUTH_SHAPES = {
    "non-ascii": b"Authorization: Basic \xc3\xa9" + JUNK.encode(),
    "non-utf8": b"Authorization: Basic \xff\xfe" + JUNK.encode(),
    "bad base64": b"Authorization: Basic !!" + JUNK.encode() + b"!!",
    "no colon": _basic_raw(JUNK.encode()),
    "not utf-8 inside": _basic_raw(b"\xff:" + JUNK.encode()),
    "empty basic": b"Authorization: Basic",
    "empty": b"Authorization:",
    "bearer junk": b"Authorization: Bearer \x01\xff" + JUNK.encode(),
    "lowercase scheme, wrong": b"authorization: basic " + base64.b64encode(b"prometheus:no"),
    "unknown scheme": b"Authorization: Digest " + JUNK.encode(),
    "two headers": b"Authorization: Bearer x\r\nAuthorization: Basic " + JUNK.encode(),
}


@pytest.mark.parametrize("header", AUTH_SHAPES.values(), ids=AUTH_SHAPES.keys())
@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
async def test_malformed_authorization_is_refused_quietly(
    make_server: Callable[..., Awaitable[MetricsServer]],
    caplog: pytest.LogCaptureFixture,
    header: bytes,
    path: str,
) -> None:
    srv = await make_server(ConnectionLimits())
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    status = await status_of(srv.port, get_request(path, header))
    # 400 where the parser already refuses the bytes (a control character)
    assert status in ({400, 401} if path == "/metrics" else {400, 200})
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert JUNK not in caplog.text


async def test_the_right_credentials_with_a_lowercase_scheme_pass(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    srv = await make_server(ConnectionLimits())
    good = b"authorization: basic " + base64.b64encode(b"prometheus:pw")
    assert await status_of(srv.port, get_request("/metrics", good)) == 200
    assert await status_of(srv.port, get_request("/metrics", b"Authorization: bearer tok")) == 200


OVERSIZED = {
    "huge authorization": b"Authorization: Basic " + JUNK.encode() * 2000,
    "huge url": None,
    "too many headers": b"\r\n".join(b"X-%d: %s" % (i, JUNK.encode()) for i in range(200)),
}


@pytest.mark.parametrize("what", OVERSIZED.keys())
async def test_oversized_requests_get_400_and_one_line_without_their_bytes(
    make_server: Callable[..., Awaitable[MetricsServer]],
    caplog: pytest.LogCaptureFixture,
    what: str,
) -> None:
    srv = await make_server(ConnectionLimits())
    caplog.set_level(logging.DEBUG)
    header = OVERSIZED[what]
    request = (
        # past the line the parser takes (~31 KiB: any status query within its bounds)
        get_request("/metrics?q=" + JUNK * (ConnectionLimits().max_line_size // len(JUNK) + 1))
        if header is None
        else get_request("/metrics", header)
    )
    caplog.clear()
    assert await status_of(srv.port, request) in (400, 414, 431)
    assert JUNK not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    assert len(caplog.records) <= 1
    assert await status_of(srv.port, get_request("/healthz")) == 200


async def test_an_internal_error_is_a_500_and_one_line(
    make_server: Callable[..., Awaitable[MetricsServer]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> tuple[bool, dict[str, Any]]:
        raise ValueError(f"quoting the client: {JUNK}")

    srv = await make_server(ConnectionLimits(), readiness=broken)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    assert await status_of(srv.port, get_request("/readyz")) == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and not errors[0].exc_info
    assert "ValueError" in errors[0].getMessage() and "broken" in errors[0].getMessage()
    assert JUNK not in caplog.text


async def test_a_new_probe_outlives_connections_that_idle_after_one_request(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    srv = await make_server(ConnectionLimits(max_connections=5))
    held = []
    try:
        for _ in range(5):  # each completes one request, then idles, kept alive
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"ok\n")
            held.append(writer)
        probe_reader, probe = await asyncio.open_connection("127.0.0.1", srv.port)
        held.append(probe)
        for _ in range(3):  # newer half-sent connections push out the oldest idle ones
            _, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"GET /metrics HTTP/1.1\r\n")
            held.append(writer)
        await until(lambda: srv.guard.evicted >= 4, "room was made four times")
        probe.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(CEILING):
            assert (await probe_reader.read(65536)).startswith(b"HTTP/1.1 200")
    finally:
        for writer in held:
            writer.close()


async def test_a_flood_of_readyz_costs_one_readiness_check(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    release = asyncio.Event()
    calls = 0

    async def counted() -> tuple[bool, dict[str, Any]]:
        nonlocal calls
        calls += 1
        await release.wait()  # a slow database ping
        return True, {}

    srv = await make_server(ConnectionLimits(), readiness=counted)
    asks = [asyncio.create_task(status_of(srv.port, get_request("/readyz"))) for _ in range(30)]
    await until(lambda: srv.guard.open_connections == 30, "thirty requests in flight")
    release.set()
    assert [await t for t in asks] == [200] * 30
    assert calls == 1


async def test_bad_requests_stay_out_of_a_warning_level_log(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    """As with `--log-level warning`: the root at WARNING, its handler at NOTSET."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    root.addHandler(handler)
    try:
        srv = await make_server(ConnectionLimits())
        assert await status_of(srv.port, b"GET /\x00 HTTP/1.1\r\n\r\n") == 400
        assert await status_of(srv.port, get_request("/healthz")) == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert not [r for r in seen if r.name.startswith("monitor.observe.endpoints")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b))
async def test_no_authorization_bytes_give_a_5xx(value: bytes) -> None:
    srv = await start_server(ConnectionLimits())
    try:
        for scheme in (b"", b"Basic ", b"Bearer "):
            header = b"Authorization: " + scheme + value
            assert await status_of(srv.port, get_request("/metrics", header)) in (400, 401)
    finally:
        await srv.stop()


def _tls_server_context(pki: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.valid.cert_file, pki.valid.key_file)
    return ctx


async def _tls_healthz(port: int, pki: Any) -> int:
    trust = ssl.create_default_context(cafile=str(pki.ca_file))
    async with asyncio.timeout(CEILING):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=trust, server_hostname="127.0.0.1"
        )
        try:
            writer.write(get_request("/healthz"))
            head = (await reader.read(65536)).split(b"\r\n", 1)[0]
        finally:
            writer.close()
    return int(head.split()[1])


async def test_unfinished_tls_handshakes_are_counted_and_evicted(
    make_server: Callable[..., Awaitable[MetricsServer]], pki: Any
) -> None:
    limits = ConnectionLimits(max_connections=10, header_timeout=CEILING, idle_timeout=CEILING)
    srv = await make_server(limits, tls=_tls_server_context(pki))
    silent = []
    try:
        for _ in range(30):  # TCP connections that never send a ClientHello
            _, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            silent.append(writer)
        await until(lambda: srv.guard.evicted >= 20, "the oldest handshakes were closed")
        assert srv.guard.open_connections <= 10
        assert await _tls_healthz(srv.port, pki) == 200
    finally:
        for writer in silent:
            writer.close()


async def test_an_abandoned_tls_handshake_times_out(
    make_server: Callable[..., Awaitable[MetricsServer]], pki: Any
) -> None:
    srv = await make_server(ConnectionLimits(header_timeout=0.3), tls=_tls_server_context(pki))
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(bytes.fromhex("160301"))  # the start of a ClientHello, and no more
    try:
        async with asyncio.timeout(CEILING):
            assert await closed_by_server(reader)
    finally:
        writer.close()
    await until(lambda: srv.guard.open_connections == 0, "the guard forgot it")
    assert await _tls_healthz(srv.port, pki) == 200
