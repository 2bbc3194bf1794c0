"""`article-monitor check` against a hostile loopback server, as a user meets it
(issue 10 items 1 and 9, issue 9 item 3): a redirect back to the same URL, a
Location that is not UTF-8, a Content-Type that is not UTF-8, an AMP page
whose gzip is garbage. Each is reported, and the server is asked a bounded
number of times."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from support.images import png
from support.report_schema import assert_valid_report
from support.servers import RawConn, raw_server

ROOT = Path(__file__).resolve().parents[2]
AMP_PAGE = (
    b'<!doctype html><html amp><head><link rel="canonical" href="http://news.example/loop?x=1">'
)


def respond(path: bytes) -> bytes:
    def answer(status: bytes, headers: bytes, body: bytes = b"") -> bytes:
        return b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s" % (
            status,
            headers,
            len(body),
            body,
        )

    if path.startswith(b"/loop"):
        return answer(b"301 Moved Permanently", b"Location: /loop\r\n")
    if path == b"/amp":
        garbage = b"\x1f\x8b" + AMP_PAGE  # a gzip header, then no gzip at all
        return answer(b"200 OK", b"Content-Type: text/html\r\nContent-Encoding: gzip\r\n", garbage)
    if path == b"/latin1-location.png":
        return answer(b"302 Found", b"Location: /caf\xe9.png\r\n")
    if path == b"/latin1-type.png":
        return answer(b"200 OK", b"Content-Type: text/\xe9\r\n", png(40, 30))
    return answer(b"404 Not Found", b"")


async def test_hostile_answers_are_reported_and_bounded(tmp_path: Path) -> None:
    hits: Counter[bytes] = Counter()

    async def handler(conn: RawConn) -> None:
        while head := await conn.read_request():
            path = head.split(b" ", 2)[1]
            hits[path.split(b"?")[0]] += 1
            if not await conn.send(respond(path)):
                return

    doc = {
        "title": "Story",
        "webUrl": "http://news.example/loop?x=1",
        "ampWebUrl": "http://news.example/amp",
        "provider": {"name": "News", "domain": "news.example"},
        "images": [
            {"url": "http://news.example/latin1-location.png", "width": 40, "height": 30},
            {"url": "http://news.example/latin1-type.png", "width": 40, "height": 30},
        ],
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    async with raw_server(handler) as srv:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "monitor", "check", str(tmp_path / "a.json")],
            *["--format", "json", "--kinds", "web,amp,image", "--retries", "0"],
            *["--connect-to", f"::127.0.0.1:{srv.port}", "--allow-network", "127.0.0.0/8"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err.decode()
    assert b"Traceback" not in err
    report = json.loads(out.decode("utf-8"))  # strict UTF-8: no lone surrogate got through
    assert_valid_report(report)
    targets = {t["url"]: t for t in report["articles"][0]["targets"]}

    loop = targets["http://news.example/loop?x=1"]
    assert (loop["outcome"], loop["error"], loop["attempts"]) == (
        "too_many_redirects",
        "redirect loop",
        1,
    )
    assert hits[b"/loop"] == 2  # was thousands, until the timeout

    amp = targets["http://news.example/amp"]
    assert amp["outcome"] == "ok"
    assert amp["error"].startswith("body could not be decoded: ")
    assert amp["problems"] == []  # not amp_marker_missing: nothing was judged

    moved = targets["http://news.example/latin1-location.png"]
    assert moved["outcome"] == "invalid_url"
    assert "not UTF-8" in moved["error"]
    assert hits[b"/latin1-location.png"] == 1 and hits[b"/caf.png"] == 0

    typed = targets["http://news.example/latin1-type.png"]
    assert [p["code"] for p in typed["problems"]] == ["content_type_mismatch"]
    assert "text/\ufffd" in typed["problems"][0]["message"]
