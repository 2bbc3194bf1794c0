"""The hand-written connection pool leaks no socket: once the checker is closed,
no socket of this process is connected to the server any more (counted in
/proc, not inferred from a ResourceWarning that may come at garbage collection)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web
from conftest import Pki
from support.servers import app_server
from support.settings import settings

from monitor.http import Checker
from monitor.vocabulary import Kind, Outcome

pytestmark = pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs /proc")

PAGE = "<html><head><title>t</title></head><body></body></html>"


def sockets_to(port: int) -> int:
    """Open sockets of this process whose remote end is 127.0.0.1:`port`."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[9] in inodes:
                    count += 1
    return count


def routes() -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/{tail:.*}")
    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(0.01)  # overlap: several connections at once
        return web.Response(text=PAGE, content_type="text/html")

    return table


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_closing_the_checker_closes_every_socket_it_opened(pki: Pki, tls: bool) -> None:
    context = pki.valid.server_context() if tls else None
    scheme = "https" if tls else "http"
    async with app_server(routes(), ssl_context=context) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file, per_host=8)
        assert sockets_to(srv.port) == 0
        async with Checker(s) as checker:
            urls = [f"{scheme}://news.example/{n}" for n in range(24)]
            results = await asyncio.gather(*(checker.check(u, Kind.WEB) for u in urls))
            assert {r.outcome for r in results} == {Outcome.OK}
            held = sockets_to(srv.port)
            assert held > 1  # kept alive in the pool, several of them
        assert sockets_to(srv.port) == 0  # closed when the checker is, not at some later GC
