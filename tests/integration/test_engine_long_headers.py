"""Long header values, as real sites send them (a Content-Security-Policy or a
cookie of 8-20 KB), are read; a head too large for any site is refused within
its cap. The parser refused any value over 8190 bytes, aiohttp's default: a
page with a 12 KB policy was a connection_error ("Got more than 8190 bytes")."""

from __future__ import annotations

from support.servers import RawConn, RawHandler, raw_server
from support.settings import settings
from support.traced import traced

from monitor.http import Checker
from monitor.http.connection import HEAD_MAX
from monitor.vocabulary import CheckResult, Kind, Outcome

PAGE = b"<html><head><title>Story</title></head><body>text</body></html>"
ALLOWANCE = 1024 * 1024  # in flight when the client hangs up (test_engine_hostile.py)
MEMORY_CEILING = 8 * 1024 * 1024


def answering(head: bytes, body: bytes = PAGE) -> RawHandler:
    async def handler(conn: RawConn) -> None:
        while await conn.read_request():
            length = b"Content-Length: %d\r\n\r\n" % len(body)
            if not await conn.send(head + length + body):
                return

    return handler


async def check(handler: RawHandler, url: str = "http://news.example/a") -> tuple[CheckResult, int]:
    async with raw_server(handler) as srv:
        async with Checker(settings({"news.example": srv.port})) as checker:
            result = await checker.check(url, Kind.WEB)
        return result, srv.stats.bytes_sent


async def test_long_header_values_are_read() -> None:
    policy = b"default-src 'self' " + b"https://cdn%d.example.com " * 600 % tuple(range(600))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    head += b"Content-Security-Policy: %s\r\nSet-Cookie: s=%s\r\n" % (policy, b"c" * 20_000)
    assert len(policy) > 12_000
    result, _ = await check(answering(head))
    assert (result.outcome, result.error) == (Outcome.OK, None)
    assert result.facts.title == "Story"


async def test_a_long_location_is_followed() -> None:
    target = b"/b?" + b"q" * 20_000

    async def handler(conn: RawConn) -> None:
        while request := await conn.read_request():
            if request.startswith(b"GET /a "):
                head = b"HTTP/1.1 301 Moved\r\nLocation: %s\r\n" % target
                answer = head + b"Content-Length: 0\r\n\r\n"
            else:
                answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                answer += b"Content-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE)
            if not await conn.send(answer):
                return

    result, _ = await check(handler)
    assert (result.outcome, result.error) == (Outcome.MOVED, None)
    assert result.final_url == "http://news.example" + target.decode()


async def test_a_head_over_its_cap_is_refused() -> None:
    """127 values of 60 KiB each (7.4 MiB): each is allowed, their sum is not."""
    value = b"v" * 60 * 1024

    async def handler(conn: RawConn) -> None:
        await conn.read_request()
        if not await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"):
            return
        for i in range(127):
            if not await conn.send(b"X-Big-%d: %s\r\n" % (i, value)):
                return
        await conn.send(b"Content-Length: 0\r\n\r\n")

    with traced() as mem:
        result, sent = await check(handler)
    assert result.outcome is Outcome.CONNECTION_ERROR, result.error
    assert "head" in (result.error or ""), result.error
    assert sent <= HEAD_MAX + ALLOWANCE
    assert mem.peak < MEMORY_CEILING, mem
