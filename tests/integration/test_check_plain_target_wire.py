"""`check` sends and reports a target in the plain spelling (monitor/http/target_url.py's
`PlainURL`, no yarl on the check path) byte for byte as it did through yarl's URL:
the request line, the Host header (a default port written out dropped, another kept),
an empty query's `?` dropped, `?` `;` `@` `$` `!` `~` sent as written, ports 1 and
65535, an IP literal's host, and the report's final URL; a redirect from a plain
target resolved against it (scheme-relative, an upper-case host), and a chain back
to the target under another spelling read as a loop (its key equal for both types),
and one to the same path on the default port not.
The expected bytes are what the engine sent before the plain target (b1bdcac)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from support.cli import run_cli
from support.servers import RawConn, raw_server

REDIRECTS = {
    b"/r1": b"//NEWS.test:80/r1-next?",  # scheme-relative, upper case, default port, empty query
    b"/loop": b"http://NEWS.TEST/loop?",  # the target itself, spelled otherwise
}


async def test_a_plain_target_is_sent_and_reported_as_through_yarl(tmp_path: Path) -> None:
    async def serve(conn: RawConn) -> None:
        while request := await conn.read_request():
            path = request.split(b" ")[1].split(b"?")[0]
            if path == b"/z" and b"\r\nHost: news.test:8080\r\n" in request:
                # the same path on the default port: another request, not a loop
                answer = b"HTTP/1.1 302 Found\r\nLocation: http://news.test/z\r\n"
                answer += b"Content-Length: 0\r\n\r\n"
            elif path in REDIRECTS:
                answer = (
                    b"HTTP/1.1 301 Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                    % (REDIRECTS[path])
                )
            else:
                body = b"<html><head><title>t</title></head><body>x</body></html>"
                answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                answer += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            if not await conn.send(answer):
                return

    async with raw_server(serve) as srv:
        port = srv.port
        # target -> (request line, Host header, final URL)
        expected = {
            "http://news.test/a": ("GET /a", "news.test", "http://news.test/a"),
            "http://news.test:80/b": ("GET /b", "news.test", "http://news.test/b"),
            "http://news.test:8080/c?": ("GET /c", "news.test:8080", "http://news.test:8080/c"),
            "http://news.test/d?": ("GET /d", "news.test", "http://news.test/d"),
            "http://news.test:443/e": ("GET /e", "news.test:443", "http://news.test:443/e"),
            "http://news.test/f?x?y=@:/": ("GET /f?x?y=@:/", "news.test", None),
            "http://news.test:1/g;h=i@j$k!l~m": ("GET /g;h=i@j$k!l~m", "news.test:1", None),
            "http://news.test:65535/n": ("GET /n", "news.test:65535", None),
            "http://xn--bcher-kva.test/o": ("GET /o", "xn--bcher-kva.test", None),
            f"http://127.0.0.1:{port}/p": ("GET /p", f"127.0.0.1:{port}", None),
        }
        articles = [
            {"title": f"t{i}", "webUrl": url, "type": "article"}
            for i, url in enumerate(
                [
                    *expected,
                    "http://news.test/r1",
                    "http://news.test:80/loop",
                    "http://news.test:8080/z",
                ]
            )
        ]
        corpus = tmp_path / "corpus.json"
        corpus.write_text(json.dumps(articles))
        args = ["check", corpus, "--format", "json", "--workers", "1", "--retries", "0"]
        args += ["--connect-to", f"::127.0.0.1:{port}", "--allow-network", "127.0.0.0/8"]
        done = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    heads = [
        r.decode("latin-1").split("\r\n")[:2]
        for r in srv.stats.requests
        if b"am-probe" not in r.split(b"\r\n")[0]  # the soft-404 probe's own
    ]
    sent = {(line.removesuffix(" HTTP/1.1"), host.removeprefix("Host: ")) for line, host in heads}
    for url, (line, host, _) in expected.items():
        assert (line, host) in sent, (url, sorted(sent))
    assert ("GET /r1-next", "news.test") in sent
    assert ("GET /z", "news.test:8080") in sent
    assert ("GET /z", "news.test") in sent
    assert len(heads) == len(expected) + 5, heads  # r1, r1-next, loop, z twice: each once
    report = json.loads(done.stdout)
    targets = {t["url"]: t for a in report["articles"] for t in a["targets"]}
    for url, (_, _, final) in expected.items():
        assert targets[url]["outcome"] == "ok", targets[url]
        assert targets[url]["final_url"] == (final or url)
    r1 = targets["http://news.test/r1"]
    assert r1["final_url"] == "http://news.test/r1-next"
    assert r1["redirects"] == [{"status": 301, "location": "http://news.test/r1-next"}]
    loop = targets["http://news.test:80/loop"]
    assert loop["outcome"] == "too_many_redirects", loop
    assert "redirect loop" in loop["error"], loop
    z = targets["http://news.test:8080/z"]
    assert (z["outcome"], z["final_url"]) == ("ok", "http://news.test/z"), z
