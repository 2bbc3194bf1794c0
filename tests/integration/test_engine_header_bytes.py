"""Header values that are not UTF-8 (or not ASCII where the grammar is): never
followed, read or reported as something else (issue 10 item 9).

Raw servers, since a well-behaved framework would not send such bytes."""

from __future__ import annotations

from collections.abc import Callable

from support.images import png
from support.servers import RawConn, RawHandler, raw_server
from support.settings import settings

from monitor.http import Checker
from monitor.vocabulary import CheckResult, Kind, Outcome, ProblemCode

PNG = png(640, 480)[:33]  # signature and IHDR (valid CRC)
PAGE = b"<html><head><title>Story</title></head><body>text</body></html>"


def answering(respond: Callable[[bytes], bytes]) -> RawHandler:
    """A keep-alive server answering each request (its path) with `respond(path)`."""

    async def handler(conn: RawConn) -> None:
        while head := await conn.read_request():
            path = head.split(b" ", 2)[1]
            if not await conn.send(respond(path)):
                return

    return handler


def answer(status: bytes, headers: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s" % (status, headers, len(body), body)


async def run(handler: RawHandler, kind: Kind, **overrides: object) -> tuple[CheckResult, int]:
    """The result and the number of requests the server received."""
    async with raw_server(handler) as srv:
        s = settings({"news.example": srv.port}, **overrides)  # type: ignore[arg-type]
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/start", kind)
    return result, len(srv.stats.requests)


def printable(result: CheckResult) -> str:
    """Every text of the result a report or the database would write, as UTF-8."""
    texts = [result.error or "", result.final_url or "", result.facts.content_type or ""]
    texts += [r.location for r in result.redirects]
    texts += [p.message for p in result.problems]
    return "\n".join(texts).encode("utf-8").decode("utf-8")  # raises on a lone surrogate


async def test_latin1_location_is_an_invalid_redirect_not_followed() -> None:
    def respond(path: bytes) -> bytes:
        return answer(b"301 Moved Permanently", b"Location: /caf\xe9/story\r\n")

    result, requests = await run(answering(respond), Kind.WEB)
    assert requests == 1  # `/caf/story` (what yarl makes of it) is never asked for
    assert result.outcome is Outcome.INVALID_URL
    assert result.http_status == 301
    assert "Location" in (result.error or "") and "UTF-8" in (result.error or "")
    assert result.redirects == []
    printable(result)


async def test_latin1_location_after_a_good_redirect_stops_there() -> None:
    def respond(path: bytes) -> bytes:
        if path == b"/start":
            return answer(b"302 Found", b"Location: /next\r\n")
        return answer(b"302 Found", b"Location: http://news.example/\xff\xfe\r\n")

    result, requests = await run(answering(respond), Kind.WEB)
    assert requests == 2
    assert result.outcome is Outcome.INVALID_URL
    assert [r.location for r in result.redirects] == ["http://news.example/next"]


async def test_utf8_location_is_followed_percent_encoded() -> None:
    def respond(path: bytes) -> bytes:
        if path == b"/start":
            return answer(b"301 Moved Permanently", "Location: /café\r\n".encode())
        return answer(b"200 OK", b"Content-Type: text/html\r\n", PAGE)

    result, requests = await run(answering(respond), Kind.WEB)
    assert requests == 2
    assert result.outcome is Outcome.MOVED
    assert result.final_url == "http://news.example/caf%C3%A9"


async def test_latin1_content_type_of_an_image_is_reported_readably() -> None:
    def respond(path: bytes) -> bytes:
        return answer(b"200 OK", b"Content-Type: text/\xe9\r\n", PNG)

    result, _ = await run(answering(respond), Kind.IMAGE)
    assert result.outcome is Outcome.OK
    assert result.facts.content_type == "text/\ufffd"
    assert [p.code for p in result.problems] == [ProblemCode.CONTENT_TYPE_MISMATCH]
    assert "text/\ufffd" in printable(result)


async def test_latin1_charset_of_a_page_is_ignored() -> None:
    def respond(path: bytes) -> bytes:
        return answer(b"200 OK", b"Content-Type: text/html; charset=\xe9\r\n", PAGE)

    result, _ = await run(answering(respond), Kind.WEB)
    assert result.outcome is Outcome.OK
    assert result.facts.content_type == "text/html; charset=\ufffd"
    assert result.problems == []
    printable(result)


async def test_retry_after_in_other_digits_is_ignored() -> None:
    """`٢` (ARABIC-INDIC DIGIT TWO, valid UTF-8) is not a Retry-After: the
    host's own short backoff applies, not a 2 s pause of the whole host."""

    def respond(path: bytes) -> bytes:
        return answer(b"503 Service Unavailable", "Retry-After: ٢\r\n".encode())

    async with raw_server(answering(respond)) as srv:
        s = settings({"news.example": srv.port}, retry_after_max=60.0, backoff_max=0.05)
        async with Checker(s) as checker:
            result = await checker.check("http://news.example/start", Kind.WEB)
            assert result.outcome is Outcome.HTTP_ERROR
            assert checker.hosts.backoff_remaining("news.example") <= 0.05
