"""Which connections the endpoints keep when they must choose: requests that
wait never take the connections kept for /healthz, and an answer still going
out to a slow reader is not taken for an idle keep-alive. Loopback sockets,
limits lowered so a handful of connections fill them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.endpoints_raw import CEILING, get_request, status_of, until

from monitor.observe.endpoints import MetricsServer
from monitor.observe.guard import ConnectionLimits, SingleFlight


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
async def test_requests_that_wait_never_take_the_connections_kept_for_health(
    make_server: Callable[..., Awaitable[MetricsServer]], path: str
) -> None:
    """Waiting requests (a slow database ping, a slow render) fill at most the
    connections beyond the reserve; the next is a 503 at once, and /healthz
    always finds a connection."""
    release = asyncio.Event()

    async def slow_ready() -> tuple[bool, dict[str, Any]]:
        await release.wait()
        return True, {}

    srv = await make_server(ConnectionLimits(max_connections=6, reserved=2), readiness=slow_ready)
    if path == "/metrics":
        render = srv.metrics.render

        def slow_render() -> bytes:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(CEILING)
            return render()

        loop = asyncio.get_running_loop()
        srv.metrics.render = slow_render  # type: ignore[method-assign]
        srv._render = SingleFlight(lambda: asyncio.to_thread(srv.metrics.render))
    auth = b"Authorization: Bearer tok"
    waiting = [asyncio.create_task(status_of(srv.port, get_request(path, auth))) for _ in range(4)]
    await until(lambda: srv.guard.busy == 4, "four requests waiting")
    for _ in range(3):  # more of them: refused at once, not waiting
        assert await status_of(srv.port, get_request(path, auth)) == 503
    for _ in range(3):
        assert await status_of(srv.port, get_request("/healthz")) == 200
    assert srv.guard.refused == 0 and srv.guard.busy == 4
    release.set()
    assert [await t for t in waiting] == [200] * 4
    assert srv.guard.busy == 0


async def test_an_answer_still_being_written_outlives_idle_keep_alives(
    make_server: Callable[..., Awaitable[MetricsServer]],
) -> None:
    """A scrape whose large answer is still going out (a slow reader) is not
    taken for an idle keep-alive: a newer connection closes one that has its
    answer instead of cutting the scrape short."""
    big = b"# " + b"x" * (8 << 20) + b"\n"  # more than the sockets buffer
    srv = await make_server(ConnectionLimits(max_connections=3, reserved=0))
    srv.metrics.render = lambda: big  # type: ignore[method-assign]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.setblocking(False)
    scrape_reader, scrape = await asyncio.open_connection(sock=sock)
    held = [scrape]
    try:
        scrape.write(get_request("/metrics", b"Authorization: Bearer tok"))
        head = await scrape_reader.readuntil(b"\r\n\r\n")  # answered; the body waits on us
        assert head.startswith(b"HTTP/1.1 200")
        for _ in range(2):  # two keep-alive connections, answered after the scrape
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"ok\n")
            held.append(writer)
        assert await status_of(srv.port, get_request("/healthz")) == 200  # one had to go
        assert srv.guard.evicted == 1
        body = b""
        async with asyncio.timeout(CEILING):
            while len(body) < len(big):
                chunk = await scrape_reader.read(1 << 20)
                if not chunk:
                    break
                body += chunk
        assert body[:2] == b"# " and len(body) >= len(big)  # whole (chunked framing aside)
    finally:
        for writer in held:
            writer.close()
