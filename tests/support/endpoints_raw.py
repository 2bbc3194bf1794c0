"""The endpoints on loopback for the hostile tests, and raw-socket helpers: a
server with both kinds of credentials and limits as the test says, and waits
that poll events under a ceiling (never assertions on speed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from monitor.observe.endpoints import EndpointAuth, MetricsServer
from monitor.observe.guard import ConnectionLimits
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Snapshot

CEILING = 30.0  # seconds: only a hang reaches it


async def ready() -> tuple[bool, dict[str, Any]]:
    return True, {}


async def start_server(limits: ConnectionLimits, **kw: Any) -> MetricsServer:
    """Token `tok`, basic `prometheus:pw`; `readiness=` and MetricsServer's keywords."""
    srv = MetricsServer(
        DaemonMetrics(Snapshot),
        kw.pop("readiness", ready),
        listen="127.0.0.1:0",
        auth=EndpointAuth.of("tok", ("prometheus", "pw")),
        limits=limits,
        **kw,
    )
    await srv.start()
    return srv


async def until(predicate: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(CEILING):
        while not predicate():  # noqa: ASYNC110 - a poll of counters, under a ceiling
            await asyncio.sleep(0.02)
    assert predicate(), what


async def exchange(port: int, data: bytes) -> bytes:
    """Send `data`, read the whole answer (the server closes, or we stop at 64 KiB)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(CEILING):
            return await reader.read(65536)
    finally:
        writer.close()


async def status_of(port: int, data: bytes) -> int:
    """The status of the answer to `data`; 0 when there was none (refused, closed)."""
    head = (await exchange(port, data)).split(b"\r\n", 1)[0]
    return int(head.split()[1]) if head.startswith(b"HTTP/1.") else 0


def get_request(path: str, *headers: bytes) -> bytes:
    extra = b"".join(h + b"\r\n" for h in headers)
    head = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    return head + extra + b"\r\n"


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(65536) == b""
    except ConnectionError:
        return True


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[MetricsServer]]]:
    """Start endpoint servers with given limits; every one is stopped afterwards."""
    started: list[MetricsServer] = []

    async def make(limits: ConnectionLimits, **kw: Any) -> MetricsServer:
        srv = await start_server(limits, **kw)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        await srv.stop()
