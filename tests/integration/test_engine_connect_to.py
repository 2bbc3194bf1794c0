"""--connect-to with curl's semantics, IP-literal hosts included."""

from __future__ import annotations

from aiohttp import web
from conftest import Pki
from support.servers import app_server
from support.settings import settings

from monitor.config import ConnectTo
from monitor.http import Checker
from monitor.vocabulary import Kind, Outcome

routes = web.RouteTableDef()
hosts: list[str] = []


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    hosts.append(request.headers["Host"])
    return web.Response(text="<html><head></head></html>", content_type="text/html")


async def test_ip_literal_host_is_rerouted_with_its_host_header() -> None:
    """Without this, a catch-all rule would let IP-literal URLs go out as-is."""
    hosts.clear()
    async with app_server(routes) as srv:
        rule = ConnectTo.parse(f"::127.0.0.1:{srv.port}")  # empty HOST1/PORT1: everything
        s = settings(connect_to=[rule])
        async with Checker(s) as checker:
            # TEST-NET addresses: refused by the guard if they were dialled
            a = await checker.check("http://203.0.113.7:8080/", Kind.WEB)
            b = await checker.check("http://[2001:db8::7]/", Kind.WEB)
    assert (a.outcome, b.outcome) == (Outcome.OK, Outcome.OK), (a.error, b.error)
    assert hosts == ["203.0.113.7:8080", "[2001:db8::7]"]
    assert a.final_url == "http://203.0.113.7:8080/"


async def test_rerouted_address_is_still_vetted() -> None:
    async with app_server(routes) as srv:
        rule = ConnectTo.parse(f"203.0.113.7::127.0.0.1:{srv.port}")
        async with Checker(settings(connect_to=[rule], allow_network=[])) as checker:
            result = await checker.check("http://203.0.113.7/", Kind.WEB)
    assert result.outcome is Outcome.BLOCKED


async def test_ip_literal_over_tls_verifies_the_ip(pki: Pki) -> None:
    """The certificate must carry the URL's IP (the valid test cert has 127.0.0.1)."""
    async with app_server(routes, ssl_context=pki.valid.server_context()) as srv:
        rule = ConnectTo.parse(f"127.0.0.1:443:127.0.0.1:{srv.port}")
        async with Checker(settings(connect_to=[rule], ca_bundle=pki.ca_file)) as checker:
            good = await checker.check("https://127.0.0.1/", Kind.WEB)
        rule = ConnectTo.parse(f"127.0.0.2:443:127.0.0.1:{srv.port}")
        async with Checker(settings(connect_to=[rule], ca_bundle=pki.ca_file)) as checker:
            wrong = await checker.check("https://127.0.0.2/", Kind.WEB)
    assert good.outcome is Outcome.OK, good.error
    assert wrong.outcome is Outcome.TLS_ERROR


async def test_port_only_rule_keeps_the_host() -> None:
    hosts.clear()
    async with app_server(routes) as srv:
        rule = ConnectTo.parse(f"localhost:8080::{srv.port}")  # empty HOST2: same host
        async with Checker(settings(connect_to=[rule])) as checker:
            result = await checker.check("http://localhost:8080/", Kind.WEB)
    assert result.outcome is Outcome.OK, result.error
    assert hosts == ["localhost:8080"]
