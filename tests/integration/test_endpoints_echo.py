"""A malformed or over-long request is answered without a byte of what the
client sent: aiohttp's own 400 quotes up to 100 bytes of the request as
text/plain, a reflection an attacker can shape (and a page for a browser
that sniffs). Raw sockets on loopback, so the bytes are exactly these."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.observe.endpoints import EndpointAuth, MetricsServer
from monitor.observe.guard import ConnectionLimits
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Snapshot

JUNK = b"ZZJUNKZZ"  # marks the client's bytes: never in an answer
CEILING = 30.0  # seconds: only a hang reaches it


async def _ready() -> tuple[bool, dict[str, Any]]:
    return True, {}


@pytest.fixture
async def srv() -> AsyncIterator[MetricsServer]:
    server = MetricsServer(
        DaemonMetrics(Snapshot),
        _ready,
        listen="127.0.0.1:0",
        auth=EndpointAuth.of("tok"),
        limits=ConnectionLimits(),
    )
    await server.start()
    yield server
    await server.stop()


async def _exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        answer = b""
        async with asyncio.timeout(CEILING):
            for _ in range(1000):  # until the server closes (bounded)
                try:
                    chunk = await reader.read(65536)
                except ConnectionError:
                    break
                if not chunk:
                    break
                answer += chunk
        return answer
    finally:
        writer.close()


HOST = b"Host: x\r\n"
# past the request line the parser takes (~31 KiB: any status query within its bounds)
PAST_LINE = JUNK * (ConnectionLimits().max_line_size // len(JUNK) + 1)
MALFORMED = {
    "long url": b"GET /metrics?q=" + PAST_LINE + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    # answered as JSON (server_parts): still none of the client's bytes
    "long api url": b"GET /api/v1/targets?q=" + PAST_LINE + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    "long header": b"GET /metrics HTTP/1.1\r\n" + HOST + b"X-A: " + JUNK * 2000 + b"\r\n\r\n",
    "long header name": b"GET /metrics HTTP/1.1\r\n" + HOST + JUNK * 2000 + b": v\r\n\r\n",
    "too many headers": b"GET /metrics HTTP/1.1\r\n"
    + b"".join(b"X-%d: %s\r\n" % (i, JUNK) for i in range(200))
    + b"\r\n",
    "bad method": JUNK + b"\x01 / HTTP/1.1\r\n" + HOST + b"\r\n",
    "bad request line": b"GET /" + JUNK + b" HTTP/1.1 " + JUNK + b"\r\n" + HOST + b"\r\n",
    "bad version": b"GET / HTTP/9." + JUNK + b"\r\n" + HOST + b"\r\n",
    "control in path": b"GET /\x00" + JUNK + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    "bad header name": b"GET / HTTP/1.1\r\n" + HOST + b"X-" + JUNK + b"\x01: v\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\n" + HOST + JUNK + b"\r\n\r\n",
    "bad content-length": b"POST /metrics HTTP/1.1\r\n"
    + HOST
    + b"Content-Length: "
    + JUNK
    + b"\r\n\r\n",
    "bad chunk": b"POST /metrics HTTP/1.1\r\n"
    + HOST
    + b"Transfer-Encoding: chunked\r\n\r\n"
    + JUNK
    + b"\r\n\r\n",
    "bad transfer-encoding": b"POST /metrics HTTP/1.1\r\n"
    + HOST
    + b"Transfer-Encoding: "
    + JUNK
    + b"\r\n\r\n",
    "not http": JUNK * 20 + b"\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_request_is_answered_without_its_bytes(
    srv: MetricsServer, request_bytes: bytes
) -> None:
    answer = await _exchange(srv.port, request_bytes)
    head = answer.partition(b"\r\n\r\n")[0]
    assert answer.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4")), answer[:200]
    assert JUNK not in answer and JUNK.lower() not in answer.lower()
    assert JUNK.decode("latin-1").encode("utf-8") not in answer
    assert b"X-Content-Type-Options: nosniff" in head  # the listener's headers, errors included
    assert b"Content-Security-Policy: default-src 'none'" in head


async def test_the_answer_names_the_status_and_nothing_else(srv: MetricsServer) -> None:
    answer = await _exchange(srv.port, MALFORMED["long header"])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert body == b"400 Bad Request\n"
    assert b"Content-Type: text/plain; charset=utf-8" in head
