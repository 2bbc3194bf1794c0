"""`check` against a server whose answer is followed by the beginning of
another answer's head (no error yet, no whole message): the connection went
back to the pool with the parser holding that part, and the next request on
it read the rest of its own answer as that head's continuation, so it was
judged by a status and headers it was never sent (here a 404 for a 200)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from support.cli import run_cli
from support.servers import RawConn, raw_server

PAGE = b"<html><head><title>Hello world</title></head><body>" + b"word " * 40 + b"</body></html>"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
    len(PAGE),
    PAGE,
)
STRAY_HEAD = b"HTTP/1.1 404 Not Found\r\nX-Stray: "


def article(path: str) -> str:
    return (
        f'---\nwebUrl: "http://news.test/{path}"\ntitle: "Hello world"\n'
        "provider:\n  name: N\n  domain: news.test\n---\n"
    )


async def test_the_start_of_a_stray_head_is_never_the_next_answer(tmp_path: Path) -> None:
    async def serve(conn: RawConn) -> None:
        first = True
        while await conn.read_request():
            # the first answer on each connection is followed by a stray head's start
            if not await conn.send(ANSWER + STRAY_HEAD if first else ANSWER):
                return
            first = False

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"a{i}.txt").write_text(article(f"a{i}"))
    async with raw_server(serve) as srv:
        args = ["check", corpus, "--format", "json", "--workers", "1", "--per-host", "1"]
        args += ["--connect-to", f"news.test:80:127.0.0.1:{srv.port}"]
        args += ["--allow-network", "127.0.0.0/8", "--retries", "0", "--timeout", "20"]
        done = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    targets = [t for a in json.loads(done.stdout)["articles"] for t in a["targets"]]
    assert [(t["outcome"], t["http_status"]) for t in targets] == [("ok", 200)] * 3, targets
