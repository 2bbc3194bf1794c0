"""TLS through `Checker.check`: verification, SNI via connect-to, certificate expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp import web
from conftest import Pki
from support.certs import Leaf
from support.servers import app_server
from support.settings import settings

from monitor.config import ConnectTo
from monitor.http import Checker
from monitor.vocabulary import CheckResult, Kind, Outcome, ProblemCode

routes = web.RouteTableDef()


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    body = f"<html><head><title>{request.host}</title></head><body></body></html>"
    return web.Response(text=body, content_type="text/html")


@routes.get("/to-https")
async def to_https(request: web.Request) -> web.Response:
    raise web.HTTPFound("https://news.example/")


async def check_tls(leaf: Leaf, pki: Pki, url: str = "https://news.example/") -> CheckResult:
    async with app_server(routes, ssl_context=leaf.server_context()) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            return await checker.check(url, Kind.WEB)


async def test_valid_certificate_is_ok_and_its_expiry_recorded(pki: Pki) -> None:
    result = await check_tls(pki.valid, pki)
    assert result.outcome is Outcome.OK, result.error
    assert result.cert_not_after is not None
    # certificate times have second precision
    assert abs(result.cert_not_after - pki.valid.not_after) < dt.timedelta(seconds=1)
    assert not result.problems


async def test_sni_and_host_header_keep_the_original_name(pki: Pki) -> None:
    """connect-to changes only the address dialled (curl's semantics)."""
    sni: list[str | None] = []
    ctx = pki.valid.server_context()
    ctx.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,func-returns-value]
    async with app_server(routes, ssl_context=ctx) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            result = await checker.check("https://news.example/", Kind.WEB)
        assert result.outcome is Outcome.OK
        assert sni == ["news.example"]
        assert list(srv.concurrency.peak) == ["news.example"]  # the Host header


async def test_a_ca_bundle_context_offers_alpn_as_the_shared_one_does(pki: Pki) -> None:
    """The run's context without --ca-bundle is aiohttp's, which offers ALPN
    `http/1.1`; the one built for a bundle offered none: one handshake for
    some runs and another for others (a server choosing by ALPN answered
    them differently)."""
    chosen: list[str | None] = []
    got = web.RouteTableDef()

    @got.get("/")
    async def alpn(request: web.Request) -> web.Response:
        assert request.transport is not None
        chosen.append(request.transport.get_extra_info("ssl_object").selected_alpn_protocol())
        return web.Response(
            text="<html><head><title>a</title></head></html>", content_type="text/html"
        )

    ctx = pki.valid.server_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    async with app_server(got, ssl_context=ctx) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            result = await checker.check("https://news.example/", Kind.WEB)
    assert result.outcome is Outcome.OK, result.error
    assert chosen == ["http/1.1"]


async def test_expiring_certificate_is_a_problem_not_an_error(pki: Pki) -> None:
    result = await check_tls(pki.expiring_soon, pki)
    assert result.outcome is Outcome.OK
    assert [p.code for p in result.problems] == [ProblemCode.CERTIFICATE_EXPIRING]


@pytest.mark.parametrize(
    ("leaf_name", "reason"),
    [("expired", "expired"), ("wrong_host", "mismatch"), ("untrusted", "unable to get")],
)
async def test_bad_certificates_are_tls_errors(pki: Pki, leaf_name: str, reason: str) -> None:
    result = await check_tls(getattr(pki, leaf_name), pki)
    assert result.outcome is Outcome.TLS_ERROR
    assert reason in (result.error or "").lower(), result.error
    assert result.attempts == 1  # not transient: never retried


async def test_untrusted_without_ca_bundle(pki: Pki) -> None:
    async with app_server(routes, ssl_context=pki.valid.server_context()) as srv:
        async with Checker(settings({"news.example": srv.port})) as checker:
            result = await checker.check("https://news.example/", Kind.WEB)
    assert result.outcome is Outcome.TLS_ERROR


async def test_plain_http_port_spoken_to_with_tls_is_a_tls_error(pki: Pki) -> None:
    async with app_server(routes) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            result = await checker.check("https://news.example/", Kind.WEB)
    assert result.outcome is Outcome.TLS_ERROR, result.error


async def test_certificate_recorded_after_redirect_from_http(pki: Pki) -> None:
    async with (
        app_server(routes) as plain,
        app_server(routes, ssl_context=pki.valid.server_context()) as tls,
    ):
        rules = [
            ConnectTo(host1="news.example", port1=80, host2="127.0.0.1", port2=plain.port),
            ConnectTo(host1="news.example", port1=443, host2="127.0.0.1", port2=tls.port),
        ]
        s = settings(connect_to=rules, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/to-https", Kind.WEB)
        assert (dict(plain.hits), dict(tls.hits)) == ({"/to-https": 1}, {"/": 1})
    assert result.outcome is Outcome.OK, result.error
    assert result.final_url == "https://news.example/"
    assert result.cert_not_after is not None


async def test_expiry_recorded_for_every_request_over_a_reused_connection(pki: Pki) -> None:
    async with app_server(routes, ssl_context=pki.valid.server_context()) as srv:
        s = settings({"news.example": srv.port}, ca_bundle=pki.ca_file)
        async with Checker(s) as checker:
            results = [
                await checker.check(f"https://news.example/?{i}", Kind.WEB) for i in range(3)
            ]
    for result in results:
        assert result.outcome is Outcome.OK
        assert result.cert_not_after is not None
        assert abs(result.cert_not_after - pki.valid.not_after) < dt.timedelta(seconds=1)
