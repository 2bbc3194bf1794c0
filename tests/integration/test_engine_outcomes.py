"""Every outcome end to end through `Checker.check`, against real loopback servers."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, NoReturn

import pytest
from aiohttp import web
from support.servers import (
    RawConn,
    RawHandler,
    app_server,
    raw_server,
    refusing_port,
    unanswered_port,
)
from support.settings import settings

from monitor.config import ConnectTo
from monitor.http import Checker
from monitor.vocabulary import CheckResult, Kind, Outcome, Redirect

PAGE = (
    "<!doctype html><html><head><title>Story</title>"
    '<link rel="canonical" href="https://news.example/story">'
    "</head><body>text</body></html>"
)

routes = web.RouteTableDef()


@routes.get("/ok")
async def ok(_: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


@routes.get("/moved")
async def moved(_: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/ok")


@routes.get("/temp")
async def temp(_: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


@routes.get("/gone")
async def gone(_: web.Request) -> web.Response:
    raise web.HTTPGone()


@routes.get("/missing")
async def missing(_: web.Request) -> web.Response:
    raise web.HTTPNotFound()


@routes.get("/teapot")
async def teapot(_: web.Request) -> web.Response:
    return web.Response(status=418, text="no")


@routes.get("/broken")
async def broken(_: web.Request) -> web.Response:
    return web.Response(status=500, text="oops")


@routes.get("/hop/{n}")
async def hop(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    raise web.HTTPFound(f"/hop/{n + 1}")


@routes.get("/loop/a")
async def loop_a(_: web.Request) -> web.Response:
    raise web.HTTPFound("/loop/b")


@routes.get("/loop/b")
async def loop_b(_: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/loop/a")


@routes.get("/self")
async def self_redirect(_: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/self")


# /cycle/{n}/{i}/{form}: a cycle of n URLs, each hop written in `form`
CYCLE_FORMS = {
    "relative": "/cycle/{n}/{i}/relative",
    "absolute": "http://news.example/cycle/{n}/{i}/absolute",
    "fragment": "/cycle/{n}/{i}/fragment#part-{i}",
    "dot": "../{i}/dot",
    "default-port": "http://news.example:80/cycle/{n}/{i}/default-port",
}


@routes.get("/cycle/{n}/{i}/{form}")
async def cycle(request: web.Request) -> web.Response:
    n, i = int(request.match_info["n"]), int(request.match_info["i"])
    form = request.match_info["form"]
    raise web.HTTPFound(CYCLE_FORMS[form].format(n=n, i=(i + 1) % n))


@routes.get("/to-private")
async def to_private(_: web.Request) -> web.Response:
    raise web.HTTPFound("http://127.0.0.1:9/secret")


@routes.get("/to-ftp")
async def to_ftp(_: web.Request) -> web.Response:
    raise web.HTTPFound("ftp://news.example/file")


@routes.get("/slow")
async def slow(_: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text=PAGE, content_type="text/html")


async def check(url: str, kind: Kind = Kind.WEB, **overrides: Any) -> CheckResult:
    result, _ = await check_counted(url, kind, **overrides)
    return result


async def check_counted(
    url: str, kind: Kind = Kind.WEB, **overrides: Any
) -> tuple[CheckResult, dict[str, int]]:
    """The result and the requests the server received, per path."""
    async with app_server(routes) as srv:
        s = settings({"news.example": srv.port, "other.example": srv.port}, **overrides)
        async with Checker(s) as checker:
            return await checker.check(url, kind), dict(srv.hits)


async def test_ok_records_status_final_url_and_facts() -> None:
    result = await check("http://news.example/ok")
    assert result.outcome is Outcome.OK
    assert result.http_status == 200
    assert result.final_url == "http://news.example/ok"
    assert result.attempts == 1
    assert result.facts.canonical == "https://news.example/story"
    assert result.facts.content_type.startswith("text/html")
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert result.error is None


async def test_permanent_redirect_is_moved_with_each_hop_recorded() -> None:
    result, hits = await check_counted("http://news.example/moved")
    assert hits == {"/moved": 1, "/ok": 1}
    assert result.outcome is Outcome.MOVED
    assert result.redirects == [Redirect(308, "http://news.example/ok")]
    assert result.final_url == "http://news.example/ok"


async def test_temporary_redirect_is_ok() -> None:
    result, hits = await check_counted("http://news.example/temp")
    assert hits == {"/temp": 1, "/ok": 1}
    assert result.outcome is Outcome.OK
    assert [r.status for r in result.redirects] == [302]


@pytest.mark.parametrize(
    ("path", "outcome", "status"),
    [
        ("/missing", Outcome.NOT_FOUND, 404),
        ("/gone", Outcome.NOT_FOUND, 410),
        ("/teapot", Outcome.HTTP_ERROR, 418),
        ("/broken", Outcome.HTTP_ERROR, 500),
    ],
)
async def test_error_statuses(path: str, outcome: Outcome, status: int) -> None:
    result = await check(f"http://news.example{path}")
    assert (result.outcome, result.http_status) == (outcome, status)


async def test_redirect_limit_gives_too_many_redirects() -> None:
    result, hits = await check_counted("http://news.example/hop/0", max_redirects=3)
    assert hits == {"/hop/0": 1, "/hop/1": 1, "/hop/2": 1, "/hop/3": 1}
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert len(result.redirects) == 4
    assert "more than 3" in result.error


async def test_redirect_within_limit_is_followed() -> None:
    async with app_server(routes) as srv:
        s = settings({"news.example": srv.port}, max_redirects=3)
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/hop/0", Kind.WEB)
            # /hop/n never ends, but three hops are allowed before the fourth fails
            assert [r.location for r in result.redirects][:3] == [
                "http://news.example/hop/1",
                "http://news.example/hop/2",
                "http://news.example/hop/3",
            ]
        assert sum(srv.hits.values()) == 4  # the three hops allowed, and the one refused


async def test_redirect_loop_is_detected_before_the_limit() -> None:
    result, hits = await check_counted("http://news.example/loop/a")
    assert hits == {"/loop/a": 1, "/loop/b": 1}
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error == "redirect loop"
    assert len(result.redirects) == 2


async def test_redirect_back_to_the_same_url_is_a_loop() -> None:
    """Issue 10: `/self?x=1` → `/self` → `/self` looped until the timeout (yarl
    hands back one cached URL for the same join, taken for the 416 retry)."""
    result, hits = await check_counted("http://news.example/self?x=1")
    assert hits == {"/self": 2}
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error == "redirect loop"
    assert result.redirects == [
        Redirect(301, "http://news.example/self"),
        Redirect(301, "http://news.example/self"),
    ]
    assert result.attempts == 1


@pytest.mark.parametrize("form", sorted(CYCLE_FORMS))
@pytest.mark.parametrize("length", [1, 2, 3])
async def test_redirect_cycles_end_once_round(length: int, form: str) -> None:
    """A cycle of any length, in any spelling of its URLs (relative, absolute,
    a fragment, dot segments, the default port), is seen as soon as it closes."""
    result, hits = await check_counted(f"http://news.example/cycle/{length}/0/{form}")
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error == "redirect loop"
    assert sum(hits.values()) == length  # each URL of the cycle asked for once
    assert len(result.redirects) == length


async def test_redirect_cycle_with_retries_is_asked_once_per_attempt() -> None:
    result, hits = await check_counted("http://news.example/self?x=1", retries=2)
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert hits == {"/self": 2}  # a loop is not transient: not retried


async def test_loopback_literal_is_blocked_without_allow_network() -> None:
    async with app_server(routes) as srv:
        async with Checker(settings(allow_network=[])) as checker:
            result = await checker.check(f"http://127.0.0.1:{srv.port}/ok", Kind.WEB)
        assert srv.hits["/ok"] == 0  # nothing was sent
    assert result.outcome is Outcome.BLOCKED
    assert "loopback" in (result.error or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]:1/",
        "http://[::1]:1/",
        "http://10.0.0.1:1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:1/",
        "http://localhost:1/",
        "http://news.localhost:1/",
    ],
)
async def test_private_and_special_addresses_are_blocked(url: str) -> None:
    async with Checker(settings(allow_network=[])) as checker:
        result = await checker.check(url, Kind.WEB)
    assert result.outcome is Outcome.BLOCKED, result.error


async def test_name_mapped_to_loopback_is_blocked_unless_allowed() -> None:
    """connect-to does not bypass the guard: the replacement address is vetted too."""
    async with app_server(routes) as srv:
        async with Checker(settings({"news.example": srv.port}, allow_network=[])) as checker:
            result = await checker.check("http://news.example/ok", Kind.WEB)
        assert srv.hits["/ok"] == 0
    assert result.outcome is Outcome.BLOCKED


async def test_redirect_to_blocked_address_is_blocked_and_not_fetched() -> None:
    # only 127.0.0.2 (where the server listens) is allowed; the redirect
    # points at 127.0.0.1, which stays blocked
    async with app_server(routes, host="127.0.0.2") as srv:
        rule = ConnectTo(host1="news.example", host2="127.0.0.2", port2=srv.port)
        s = settings(allow_network=["127.0.0.2/32"], connect_to=[rule])
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/to-private", Kind.WEB)
        assert dict(srv.hits) == {"/to-private": 1}
    assert result.outcome is Outcome.BLOCKED
    assert result.redirects == [Redirect(302, "http://127.0.0.1:9/secret")]
    assert result.http_status == 302


async def test_redirect_to_non_http_scheme_is_invalid_url() -> None:
    result, hits = await check_counted("http://news.example/to-ftp")
    assert hits == {"/to-ftp": 1}
    assert result.outcome is Outcome.INVALID_URL


@pytest.mark.parametrize(
    "url", ["ftp://news.example/a.png", "news.example/no-scheme", "http://", "http://a:99999/"]
)
async def test_invalid_urls(url: str) -> None:
    async with Checker(settings()) as checker:
        result = await checker.check(url, Kind.IMAGE)
    assert result.outcome is Outcome.INVALID_URL
    assert result.attempts == 0


async def test_dns_error_for_invalid_tld_without_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    queries: list[object] = []

    def no_query(*args: object, **kwargs: object) -> NoReturn:
        queries.append(args)
        raise AssertionError("the resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", no_query)
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_query)
    async with Checker(settings()) as checker:
        result = await checker.check("http://nothing-here.invalid/", Kind.WEB)
    assert result.outcome is Outcome.DNS_ERROR
    assert queries == []  # answered locally, not by a resolver (nor its timeout)


async def test_timeout_when_server_does_not_answer_in_time() -> None:
    result = await check("http://news.example/slow", timeout=0.5)
    assert result.outcome is Outcome.TIMEOUT  # /slow answers after 5 s: ok, had it waited


async def test_connect_timeout_when_syn_is_dropped() -> None:
    with unanswered_port() as port:
        s = settings({"news.example": port}, connect_timeout=0.3, timeout=60)
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/", Kind.WEB)
        assert result.outcome is Outcome.TIMEOUT, result.error
        assert result.error is not None and "connecting" in result.error  # not the 60 s total


async def test_connection_refused() -> None:
    with refusing_port() as port:
        async with Checker(settings({"news.example": port})) as checker:
            result = await checker.check("http://news.example/", Kind.WEB)
    assert result.outcome is Outcome.CONNECTION_ERROR
    assert result.error == "connection refused"


async def _reset(conn: RawConn) -> None:
    await conn.read_request()
    conn.reset()


async def _close_silently(conn: RawConn) -> None:
    await conn.read_request()


async def _garbage(conn: RawConn) -> None:
    await conn.read_request()
    await conn.send(b"\x16\x03\x01garbage that is not HTTP at all\r\n\r\n" * 4)


@pytest.mark.parametrize("handler", [_reset, _close_silently, _garbage])
async def test_connection_errors(handler: RawHandler) -> None:
    async with raw_server(handler) as srv:
        async with Checker(settings({"news.example": srv.port})) as checker:
            result = await checker.check("http://news.example/", Kind.WEB)
    assert result.outcome is Outcome.CONNECTION_ERROR, result.error
    assert result.http_status is None
