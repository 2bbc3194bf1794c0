"""`check` against a server that sends bytes past the end of its answer (a
Content-Length shorter than the body, a 204 or 304 with a body): the answer
is judged, as when the excess arrives in a later segment, and the connection
is not reused. The parser read the excess as the next response's status line
and, all in one segment with the answer, its error replaced the answer: a 200
was reported as connection_error, or ok on a slower network."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from support.cli import run_cli
from support.servers import RawConn, raw_server

PAGE = b"<html><head><title>Hello world</title></head><body>" + b"word " * 40 + b"</body></html>"


def article(path: str) -> str:
    return (
        f'---\nwebUrl: "http://news.test/{path}"\ntitle: "Hello world"\n'
        "provider:\n  name: N\n  domain: news.test\n---\n"
    )


async def check(
    tmp_path: Path, answer: bytes, articles: int = 1
) -> tuple[list[dict[str, object]], tuple[int, int]]:
    """The targets `check` reports when every request is answered with `answer`
    (one write: one segment on loopback), and the requests and connections the
    server saw."""

    async def serve(conn: RawConn) -> None:
        while await conn.read_request():
            if not await conn.send(answer):
                return

    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    for i in range(articles):
        (corpus / f"a{i}.txt").write_text(article(f"a{i}"))
    async with raw_server(serve) as srv:
        args = ["check", corpus, "--format", "json", "--workers", "1", "--per-host", "1"]
        args += ["--connect-to", f"news.test:80:127.0.0.1:{srv.port}"]
        args += ["--allow-network", "127.0.0.0/8", "--retries", "0", "--timeout", "20"]
        done = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
        seen = (len(srv.stats.requests), srv.stats.connections)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    return [t for a in report["articles"] for t in a["targets"]], seen


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s%s"
        % (len(PAGE), PAGE, PAGE),
        b"HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n" + PAGE,
    ],
    ids=["short-content-length", "204-with-a-body"],
)
async def test_an_answer_followed_by_excess_bytes_is_judged(tmp_path: Path, answer: bytes) -> None:
    targets, (requests, connections) = await check(tmp_path, answer, articles=2)
    status = int(answer.split()[1])
    assert [(t["outcome"], t["http_status"], t["error"]) for t in targets] == [
        ("ok", status, None)
    ] * 2
    assert requests == connections  # a garbled connection is not reused


async def test_garbage_after_no_complete_answer_stays_a_connection_error(
    tmp_path: Path,
) -> None:
    # an HTTP/0.9 answer, and a head whose chunked body is malformed
    for i, answer in enumerate(
        [
            PAGE,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        ]
    ):
        (targets, _) = await check(tmp_path / str(i), answer)
        assert [t["outcome"] for t in targets] == ["connection_error"], targets
