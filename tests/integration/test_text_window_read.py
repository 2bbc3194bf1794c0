"""The daemon's text window (issue 15's own drift): the reader stops once the
head and TEXT_WINDOW bytes after it are in, however the bytes arrive.

Its stop test looked for the head's end only in the bytes of the latest read:
when the head ended inside an earlier read (the usual case: a server sends
the head and the start of the body together) it never stopped before the cap,
so every page was read to 512 KiB, and a server that paused after the window
held the check until the timeout."""

from __future__ import annotations

import asyncio

from support.servers import RawConn, raw_server
from support.settings import settings

from monitor.content.simhash import TEXT_WINDOW, title_key
from monitor.http import Checker
from monitor.vocabulary import Kind, Outcome

HEAD = b"<html><head><title>A story</title></head><body><p>"
WORDS = b" ".join(b"word%d" % n for n in range(40_000))  # far past the window


async def test_the_reader_stops_after_the_window_whatever_the_reads() -> None:
    length = 400 * 1024
    body = (HEAD + WORDS)[:length]

    async def handler(conn: RawConn) -> None:
        if not await conn.read_request():
            return
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % length
        # the head's end and some text in the first read, the rest 4 KiB at a time
        # up to well past the window; then nothing more (not even a close)
        first = len(HEAD) + 200
        await conn.send(head + body[:first])
        for at in range(first, len(HEAD) + TEXT_WINDOW + 16 * 1024, 4096):
            await asyncio.sleep(0)
            if not await conn.send(body[at : at + 4096]):
                return
        await asyncio.wait_for(conn.reader.read(), 10)  # until the checker lets go

    async with raw_server(handler) as srv:
        s = settings({"a.example": srv.port}, timeout=5.0)
        async with Checker(s) as checker:
            checker.text_hash = True
            got = await checker.check("http://a.example/story", Kind.WEB)
    assert got.outcome is Outcome.OK, got.error
    assert got.facts.text_hash is not None
    # the mark's title half taken beside it, as the daemon's parent would take it
    assert got.facts.title_key == title_key("A story", None, None) != ""


async def test_only_web_and_amp_pages_get_a_text_mark() -> None:
    """The daemon keeps the marks of web and AMP pages (the article's own pages);
    an AMP cache's copy (`cdn`) was read to the window's end and hashed for a
    mark no document promised: now its read stops at the head, as `check`'s."""
    page = (HEAD + WORDS)[: 200 * 1024]

    async def handler(conn: RawConn) -> None:
        while await conn.read_request():
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            if not await conn.send(head % len(page) + page):
                return

    async with raw_server(handler) as srv:
        s = settings({"a.example": srv.port}, timeout=5.0)
        async with Checker(s) as checker:
            checker.text_hash = True
            got = {k: await checker.check("http://a.example/story", k) for k in Kind if k.is_page}
    assert all(r.outcome is Outcome.OK for r in got.values()), got
    assert got[Kind.WEB].facts.text_hash is not None
    assert got[Kind.AMP].facts.text_hash == got[Kind.WEB].facts.text_hash
    assert got[Kind.CDN].facts.text_hash is None
    assert got[Kind.CDN].facts.bytes_read < TEXT_WINDOW < got[Kind.WEB].facts.bytes_read
