"""The client follows the one URL rule (monitor/urls.py), redirects included.

Before, the engine's own check of a redirect target was "http(s) with a
host": a `Location: http://127.0.0.1:0/` was sent to port 80 (the client
reads port 0 as "no port"), and a redirect's user-info was dropped silently
while logs showed it as `***@`. Loopback servers only.
"""

from __future__ import annotations

import pytest
from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.http import Checker
from monitor.vocabulary import CheckResult, Kind, Outcome

routes = web.RouteTableDef()
LOCATIONS = {
    "port0": "http://127.0.0.1:0/x",
    "zone": "http://[fe80::1%25eth0]/x",
    "numeric": "http://999.1.1.1/x",
    "dots": "http://a%2eb.example/x",
    "creds": "/ok?token=s3cr3t",
}


@routes.get("/to/{name}")
async def redirect(request: web.Request) -> web.Response:
    location = LOCATIONS[request.match_info["name"]]
    if request.match_info["name"] == "creds":
        location = f"http://user:pa55@news.example:{request.url.port}{location}"
    return web.Response(status=302, headers={"Location": location})


@routes.get("/ok")
async def ok(request: web.Request) -> web.Response:
    return web.Response(text="<html><head><title>t</title></head></html>", content_type="text/html")


async def check(url: str) -> tuple[CheckResult, dict[str, int]]:
    async with app_server(routes) as srv:
        async with Checker(settings({"news.example": srv.port})) as checker:
            return await checker.check(url.replace("PORT", str(srv.port)), Kind.WEB), dict(srv.hits)


@pytest.mark.parametrize("name", ["port0", "zone", "numeric", "dots"])
async def test_a_redirect_to_a_url_that_cannot_be_requested_is_invalid_url(name: str) -> None:
    result, hits = await check(f"http://news.example:PORT/to/{name}")
    assert result.outcome is Outcome.INVALID_URL
    assert result.error is not None and "cannot be requested" in result.error
    assert sum(hits.values()) == 1  # the redirect itself, nothing after it


@pytest.mark.parametrize("url", ["http://news.example:0/ok", "http://news.example:PORT/o k"])
async def test_a_target_that_cannot_be_requested_is_never_sent(url: str) -> None:
    result, hits = await check(url)
    assert result.outcome is Outcome.INVALID_URL and result.attempts == 0
    assert hits == {}


async def test_credentials_in_a_redirect_never_reach_the_report() -> None:
    result, hits = await check("http://news.example:PORT/to/creds")
    assert hits == {"/to/creds": 1, "/ok": 1}
    assert result.outcome is Outcome.OK
    shown = " ".join([result.final_url or "", *(r.location for r in result.redirects)])
    assert "pa55" not in shown and "s3cr3t" not in shown
    assert result.final_url is not None and "***@news.example" in result.final_url
