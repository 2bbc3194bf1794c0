"""What the engine reads and learns: pages, images, encodings, headers."""

from __future__ import annotations

import gzip

import pytest
from aiohttp import web
from support.images import png
from support.servers import app_server
from support.settings import settings

from monitor import __version__
from monitor.classify import findings
from monitor.http import Checker
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Expectation, Kind, Origin, Outcome, ProblemCode

HEAD = (
    b'<!doctype html><html><head><title>Story</title><link rel="amphtml" href="/amp/story"></head>'
)
BIG_PAGE = HEAD + b"<body>" + b"<p>words</p>" * 50_000 + b"</body></html>"  # 600 KB
PNG = png(1200, 675)[:33] + bytes(200_000)  # signature and IHDR (valid CRC)

# A JPEG whose size (the SOF0 segment) comes after 20 KB of metadata: past the
# first range the engine asks for.
LATE_JPEG = (
    b"\xff\xd8"
    + b"\xff\xe1"
    + (20_000).to_bytes(2, "big")
    + bytes(19_998)
    + b"\xff\xc0\x00\x11\x08"
    + (480).to_bytes(2, "big")
    + (640).to_bytes(2, "big")
    + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    + bytes(200_000)
)

routes = web.RouteTableDef()
seen_headers: dict[str, dict[str, str]] = {}
seen_ranges: dict[str, list[str | None]] = {}


async def ranged(request: web.Request, body: bytes, ctype: str) -> web.StreamResponse:
    """Honours a single Range, as a real static file server does."""
    seen_ranges.setdefault(request.path, []).append(request.headers.get("Range"))
    resp = web.StreamResponse(headers={"Content-Type": ctype})
    rng = request.http_range
    if rng.start is not None or rng.stop is not None:
        part = body[rng]
        start = rng.start or 0
        resp.set_status(206)
        resp.headers["Content-Range"] = f"bytes {start}-{start + len(part) - 1}/{len(body)}"
        resp.content_length = len(part)
        await resp.prepare(request)
        await resp.write(part)
        return resp
    resp.content_length = len(body)
    await resp.prepare(request)
    await resp.write(body)
    return resp


@routes.get("/late.jpg")
async def late_jpeg(request: web.Request) -> web.StreamResponse:
    return await ranged(request, LATE_JPEG, "image/jpeg")


@routes.get("/big.png")
async def big_png(request: web.Request) -> web.StreamResponse:
    return await ranged(request, PNG, "image/png")


@routes.get("/big")
async def big(request: web.Request) -> web.Response:
    return web.Response(body=BIG_PAGE, content_type="text/html")


@routes.get("/gz")
async def gz(request: web.Request) -> web.Response:
    seen_headers["/gz"] = dict(request.headers)
    return web.Response(
        body=gzip.compress(BIG_PAGE),
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
    )


@routes.get("/soft404")
async def soft404(_: web.Request) -> web.Response:
    body = "<html><head><title>Page not found</title></head><body>Sorry</body></html>"
    return web.Response(text=body, content_type="text/html")


@routes.get("/pdf")
async def pdf(_: web.Request) -> web.Response:
    return web.Response(body=b"%PDF-1.7" + bytes(100_000), content_type="application/pdf")


@routes.get("/img.png")
async def image(request: web.Request) -> web.StreamResponse:
    """Honours Range, as a real static file server does."""
    seen_headers["/img.png"] = dict(request.headers)
    resp = web.StreamResponse(headers={"Content-Type": "image/png"})
    rng = request.http_range
    if rng.start is not None or rng.stop is not None:
        part = PNG[rng]
        resp.set_status(206)
        resp.headers["Content-Range"] = f"bytes {rng.start or 0}-{len(part) - 1}/{len(PNG)}"
        resp.content_length = len(part)
        await resp.prepare(request)
        await resp.write(part)
        return resp
    resp.content_length = len(PNG)
    await resp.prepare(request)
    await resp.write(PNG)
    return resp


@routes.get("/no-range.png")
async def no_range(request: web.Request) -> web.Response:
    if request.headers.get("Range"):
        raise web.HTTPRequestRangeNotSatisfiable()
    return web.Response(body=PNG[:1000], content_type="image/png")


@routes.get("/416-then-moved.png")
async def range_refused_then_moved(request: web.Request) -> web.Response:
    if request.headers.get("Range"):
        raise web.HTTPRequestRangeNotSatisfiable()
    raise web.HTTPMovedPermanently("/no-range.png")


@routes.get("/416-then-self.png")
async def range_refused_then_self(request: web.Request) -> web.Response:
    if request.headers.get("Range"):
        raise web.HTTPRequestRangeNotSatisfiable()
    raise web.HTTPFound("/416-then-self.png")


@routes.get("/always-416.png")
async def always_416(_: web.Request) -> web.Response:
    raise web.HTTPRequestRangeNotSatisfiable()


# Bodies whose Content-Encoding cannot be decoded: gzip that is not gzip, and
# an encoding we never asked for. What is under them would be judged wrong.
UNDECODABLE = {
    "gzip-garbage": ("gzip", b"\x1f\x8bnot really gzip at all" * 20),
    "unknown": ("br", b"\x8b\x03\x80<html><head></head></html>\x03"),
}


@routes.get("/undecodable/{how}/{what}")
async def undecodable(request: web.Request) -> web.Response:
    encoding, body = UNDECODABLE[request.match_info["how"]]
    ctype = "image/png" if request.match_info["what"] == "image" else "text/html"
    return web.Response(body=body, headers={"Content-Type": ctype, "Content-Encoding": encoding})


@routes.get("/html-as-image.png")
async def html_as_image(_: web.Request) -> web.Response:
    return web.Response(text="<html><body>login</body></html>", content_type="text/html")


async def check(path: str, kind: Kind, **overrides: object) -> CheckResult:
    result, _ = await check_counted(path, kind, **overrides)
    return result


async def check_counted(
    path: str, kind: Kind, **overrides: object
) -> tuple[CheckResult, dict[str, int]]:
    """The result and the requests the server received, per path."""
    async with app_server(routes) as srv:
        s = settings({"news.example": srv.port}, **overrides)  # type: ignore[arg-type]
        async with Checker(s) as checker:
            return await checker.check(f"http://news.example{path}", kind), dict(srv.hits)


async def test_page_read_stops_after_the_head() -> None:
    result = await check("/big", Kind.WEB)
    assert result.outcome is Outcome.OK
    assert result.facts.amphtml == "http://news.example/amp/story"
    assert result.facts.bytes_read < 64 * 1024  # not the 600 KB body


async def test_gzip_page_is_decoded_and_we_ask_only_for_what_we_decode() -> None:
    result = await check("/gz", Kind.WEB)
    assert result.outcome is Outcome.OK
    assert result.facts.amphtml == "http://news.example/amp/story"
    assert seen_headers["/gz"]["Accept-Encoding"] == "gzip, deflate"


async def test_user_agent_names_project_version_and_contact() -> None:
    await check("/gz", Kind.WEB, user_agent_contact="mailto:ops@news.example")
    ua = seen_headers["/gz"]["User-Agent"]
    assert ua == f"article-monitor/{__version__} (+mailto:ops@news.example)"


async def test_soft_404_is_a_problem_of_an_ok_page() -> None:
    result = await check("/soft404", Kind.WEB)
    assert result.outcome is Outcome.OK
    assert result.facts.soft_404 is True
    assert [p.code for p in result.problems] == [ProblemCode.SOFT_404]


async def test_a_page_that_is_not_html_is_not_read() -> None:
    result = await check("/pdf", Kind.AMP)
    assert [p.code for p in result.problems] == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert result.facts.bytes_read == 0


async def test_image_by_range_request() -> None:
    result = await check("/img.png", Kind.IMAGE, image_cap_bytes=4096)
    assert (result.outcome, result.http_status) == (Outcome.OK, 206)
    assert (result.facts.image_format, result.facts.width, result.facts.height) == (
        "png",
        1200,
        675,
    )
    assert seen_headers["/img.png"]["Range"] == "bytes=0-4095"
    assert result.facts.bytes_read <= 4096
    assert seen_headers["/img.png"]["Accept-Encoding"] == "identity"


async def test_image_server_refusing_ranges_gets_a_plain_get() -> None:
    result, hits = await check_counted("/no-range.png", Kind.IMAGE)
    assert hits == {"/no-range.png": 2}  # ranged (416), then whole
    assert (result.outcome, result.http_status) == (Outcome.OK, 200)
    assert result.facts.width == 1200
    assert result.attempts == 1


async def test_range_refused_then_a_redirect_is_followed_without_range() -> None:
    result, hits = await check_counted("/416-then-moved.png", Kind.IMAGE)
    assert hits == {"/416-then-moved.png": 2, "/no-range.png": 1}
    assert (result.outcome, result.http_status) == (Outcome.MOVED, 200)
    assert [r.status for r in result.redirects] == [301]
    assert result.facts.width == 1200


async def test_range_refused_then_a_redirect_to_itself_is_a_loop() -> None:
    """The 416 retry asks the same URL again; that must not hide a redirect loop."""
    result, hits = await check_counted("/416-then-self.png", Kind.IMAGE)
    assert hits == {"/416-then-self.png": 2}
    assert result.outcome is Outcome.TOO_MANY_REDIRECTS
    assert result.error == "redirect loop"


async def test_range_refused_without_range_too_is_asked_twice_only() -> None:
    result, hits = await check_counted("/always-416.png", Kind.IMAGE)
    assert hits == {"/always-416.png": 2}
    assert (result.outcome, result.http_status) == (Outcome.HTTP_ERROR, 416)


async def test_html_served_as_an_image_is_a_content_type_mismatch() -> None:
    result = await check("/html-as-image.png", Kind.IMAGE)
    assert result.outcome is Outcome.OK
    assert result.facts.image_format is None
    assert [p.code for p in result.problems] == [ProblemCode.CONTENT_TYPE_MISMATCH]


async def test_slow_response_is_a_problem() -> None:
    result = await check("/big", Kind.WEB, latency_budget_ms=0.001)
    assert ProblemCode.SLOW_RESPONSE in [p.code for p in result.problems]


async def test_image_first_asks_for_a_small_range_and_reads_it_whole() -> None:
    seen_ranges.clear()
    result = await check("/big.png", Kind.IMAGE)  # default cap: 64 KiB
    assert (result.facts.image_format, result.facts.width, result.facts.height) == (
        "png",
        1200,
        675,
    )
    assert seen_ranges["/big.png"] == ["bytes=0-16383"]
    assert result.facts.bytes_read == 16384


async def test_image_header_past_the_first_range_is_fetched_with_a_second_range() -> None:
    seen_ranges.clear()
    result = await check("/late.jpg", Kind.IMAGE)
    assert (result.outcome, result.http_status) == (Outcome.OK, 206)
    assert (result.facts.image_format, result.facts.width, result.facts.height) == (
        "jpeg",
        640,
        480,
    )
    assert seen_ranges["/late.jpg"] == ["bytes=0-16383", "bytes=16384-65535"]
    assert 20_000 < result.facts.bytes_read <= 64 * 1024


async def test_image_second_range_stays_within_the_cap() -> None:
    seen_ranges.clear()
    result = await check("/late.jpg", Kind.IMAGE, image_cap_bytes=18 * 1024)
    assert seen_ranges["/late.jpg"] == ["bytes=0-16383", "bytes=16384-18431"]
    assert result.facts.bytes_read <= 18 * 1024
    assert result.facts.image_format == "jpeg"
    assert result.facts.width is None  # the size lies past the cap: unknown, not guessed


EXPECTING = {
    Kind.AMP: Expectation(canonical="https://news.example/story"),
    Kind.WEB: Expectation(amphtml="https://news.example/amp/story"),
    Kind.IMAGE: Expectation(width=1200, height=675),
}


@pytest.mark.parametrize("how", sorted(UNDECODABLE))
@pytest.mark.parametrize("kind", [Kind.AMP, Kind.WEB, Kind.IMAGE])
async def test_undecodable_body_is_said_and_nothing_is_judged_on_it(kind: Kind, how: str) -> None:
    """Issue 9: a broken Content-Encoding made an AMP page `amp_marker_missing`."""
    what = "image" if kind is Kind.IMAGE else "page"
    result, hits = await check_counted(f"/undecodable/{how}/{what}", kind)
    assert hits == {f"/undecodable/{how}/{what}": 1}
    assert (result.outcome, result.http_status) == (Outcome.OK, 200)  # the status says so
    assert (result.error or "").startswith("body could not be decoded: ")
    assert UNDECODABLE[how][0] in (result.error or "")
    ref = TargetRef("a1", kind, Origin.ARTICLE, EXPECTING[kind])
    assert findings(result, ref) == []
    assert (result.facts.is_amp, result.facts.image_format) == (None, None)
