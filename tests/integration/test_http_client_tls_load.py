"""The run's TLS context is made at its first https dial (22a7c87: the system
store is loaded then, not at import), and that load is not timed as the
connection's: made inside the connect timeout, a load longer than
`connect_timeout` (a big SSL_CERT_FILE: a 4 MB bundle took ~150 ms; a short
timeout; a busy machine) failed the run's first https targets as `timeout`
("timed out connecting") against a server that answered at once."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from support.certs import CertAuthority
from support.settings import LOOPBACK
from yarl import URL

from monitor.http.client import Client
from monitor.http.guard import AddressPolicy
from monitor.http.resolver import GuardedResolver, guarded_socket_factory

POLICY = AddressPolicy.from_networks(__import__("ipaddress").ip_network(n) for n in LOOPBACK)
LOAD_S = 0.6  # the store's load, longer than the connect timeout
CONNECT_TIMEOUT_S = 0.5


class Loopback(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
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


async def test_the_first_https_dial_does_not_time_the_store_load(tmp_path: Path) -> None:
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
        time.sleep(LOAD_S)  # as a big bundle's load blocks: synchronously
        return ctx

    client = Client(
        GuardedResolver(POLICY, inner=Loopback()),
        slow_store,
        guarded_socket_factory(POLICY),
        connect_timeout=CONNECT_TIMEOUT_S,
        user_agent="test",
        limit=4,
    )
    try:
        resp = await client.get(URL(f"https://a.test:{server.port}/"), {})
        assert resp.status == 200
        assert await resp.content.read(10) == b"ok"
        resp.release()
    finally:
        await client.close()
        await server.close()
