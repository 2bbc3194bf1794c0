"""A flood of status requests cannot lock out /healthz and /metrics: reads
beyond the source's bound are a 503 with Retry-After at once, so no
connection waits on the read threads and the guard keeps room for probes."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.status_db import Known
from support.status_http import _ready, get, known_db, running

from monitor.observe.endpoints import MetricsServer
from monitor.observe.guard import ConnectionLimits
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.status.source import MAX_PENDING
from monitor.storage.repository import Repository


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    yield from known_db("sqlite", tmp_path)


async def test_reads_beyond_the_bound_are_refused_at_once_and_health_answers(
    known: Known,
) -> None:
    async with running(known) as srv:
        source = srv._status
        assert source is not None
        release = threading.Event()
        real = source.repo.list_targets

        def stuck(query: Any) -> Any:  # a read that takes as long as the test says
            release.wait(30)
            return real(query)

        source.repo.list_targets = stuck  # type: ignore[method-assign]
        waiting = [
            asyncio.create_task(get(srv, "/api/v1/targets?state=down")) for _ in range(MAX_PENDING)
        ]
        try:
            for _ in range(500):  # until every one is admitted (bounded)
                if source.pending == MAX_PENDING:
                    break
                await asyncio.sleep(0.01)
            assert source.pending == MAX_PENDING
            status, body, headers = await asyncio.wait_for(
                get(srv, "/api/v1/targets?state=down"), 20
            )
            assert status == 503 and headers["Retry-After"] == "1"
            assert body == '{"error":"too many status requests now"}'
            status, body, headers = await asyncio.wait_for(get(srv, "/targets"), 20)
            assert status == 503 and "too many" in body
            assert headers["Content-Security-Policy"].startswith("default-src 'none'")
            status, body, _ = await asyncio.wait_for(get(srv, "/healthz"), 20)
            assert (status, body) == (200, "ok\n")
        finally:
            release.set()
            answers = await asyncio.gather(*waiting)
        assert [a[0] for a in answers] == [200] * MAX_PENDING
        assert source.pending == 0


# -- fresh probes under a flood of keep-alive status clients (the guard at its limit)

FLOOD_CLIENTS = 64
PROBES = 8
ROUNDS = 6


async def _answer(reader: asyncio.StreamReader) -> int:
    """One HTTP/1.1 answer, read whole: its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(head.split()[1])


async def _status_client(port: int, stop: asyncio.Event) -> int:
    """Asks /api/v1/status again and again on a kept-alive connection, reconnecting
    whenever the server closes it, until `stop`: how many answers it read."""
    answers = 0
    request = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(100_000):  # bounded; `stop` ends it long before
        if stop.is_set():
            break
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0)
            continue
        try:
            while not stop.is_set():
                writer.write(request)
                await _answer(reader)
                answers += 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    return answers


def _probe(port: int) -> int:
    """A liveness probe from another thread (as kubelet's come from another process,
    its request sent as soon as it connects): the status it got, 0 if none."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            for _ in range(1000):  # until the server closes (bounded)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return 0
    head = answer.split(b"\r\n", 1)[0]
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0


async def test_fresh_health_probes_get_through_a_flood_of_status_clients(
    known: Known,
) -> None:
    repo = Repository(known.engine)
    srv = MetricsServer(
        DaemonMetrics(repo.snapshot),
        _ready,
        listen="127.0.0.1:0",
        repo=repo,
        limits=ConnectionLimits(max_connections=2 * MAX_PENDING, backlog=16),
    )
    answered: list[str] = []

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        if request.path == "/healthz":
            answered.append(request.path)

    srv.app.on_response_prepare.append(count)
    await srv.start()
    stop = asyncio.Event()
    got: list[list[int]] = []
    flood = [asyncio.create_task(_status_client(srv.port, stop)) for _ in range(FLOOD_CLIENTS)]
    try:
        for _ in range(1000):  # until the flood fills the guard and makes it evict (bounded)
            if srv.guard.evicted >= 50:
                break
            await asyncio.sleep(0.01)
        assert srv.guard.evicted >= 50, "the flood reached the limit"
        with ThreadPoolExecutor(PROBES) as threads:
            loop = asyncio.get_running_loop()
            for _ in range(ROUNDS):  # eight probes at once, again and again
                probes = [loop.run_in_executor(threads, _probe, srv.port) for _ in range(PROBES)]
                got.append(list(await asyncio.gather(*probes)))
    finally:
        stop.set()
        served = await asyncio.gather(*flood)
        await srv.stop()
    assert sum(served) > 0 and srv.guard.evicted > 50
    assert len(answered) == ROUNDS * PROBES, f"the server answered {len(answered)} probes"
    assert got == [[200] * PROBES] * ROUNDS
