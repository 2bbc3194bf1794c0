"""`request_headers` on a redirect that leaves HTTPS for plain HTTP on the same
host: the rule's values (an Authorization, a WAF key) are not sent in clear.

A target `https://staging.example/` whose server answers 302 to
`http://staging.example:PORT/` sent the rule's header over the plain hop, so
anyone on the path read the secret; browsers (the fetch standard: another
origin) and curl (a scheme change) drop Authorization there.
"""

from __future__ import annotations

from aiohttp import web
from conftest import Pki
from support.servers import app_server
from support.settings import settings

from monitor.config import ConnectTo
from monitor.http import Checker
from monitor.request_headers import HeaderRule
from monitor.vocabulary import Kind

SECRET = "Bearer downgrade-secret-91d2"


def _rule(hosts: list[str]) -> HeaderRule:
    rule = HeaderRule(hosts=hosts, name="Authorization", value=SECRET)  # type: ignore[arg-type]
    return rule


async def test_an_https_to_http_redirect_on_the_same_host_does_not_carry_the_header(
    pki: Pki,
) -> None:
    seen: dict[str, list[str | None]] = {"tls": [], "plain": []}
    plain_port = 0

    tls = web.RouteTableDef()

    @tls.get("/")
    async def down(request: web.Request) -> web.Response:
        seen["tls"].append(request.headers.get("Authorization"))
        raise web.HTTPFound(f"http://news.example:{plain_port}/plain")

    plain = web.RouteTableDef()

    @plain.get("/{tail:.*}")  # the page and the soft-404 probe's path
    async def landing(request: web.Request) -> web.Response:
        seen["plain"].append(request.headers.get("Authorization"))
        return web.Response(
            text="<html><head><title>t</title></head><body>x</body></html>",
            content_type="text/html",
        )

    async with (
        app_server(plain) as clear,
        app_server(tls, ssl_context=pki.valid.server_context()) as srv,
    ):
        plain_port = clear.port
        # the plain port's rule first: a rule without a port takes every port
        s = settings(
            None,
            ca_bundle=pki.ca_file,
            connect_to=[
                ConnectTo(host1="news.example", port1=clear.port, host2="127.0.0.1"),
                ConnectTo(host1="news.example", host2="127.0.0.1", port2=srv.port),
            ],
            request_headers=[_rule(["news.example"])],
            soft_404_probe=True,
        )
        async with Checker(s) as checker:
            await checker.check("https://news.example/", Kind.WEB)
    assert seen["tls"] == [SECRET]  # the HTTPS hop carries it
    # the plain hop does not, nor a soft-404 probe of the plain page
    assert seen["plain"] and set(seen["plain"]) == {None}
