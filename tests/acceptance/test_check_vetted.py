"""`check`'s own share of the targets runs on a checker that trusts the reader's
vetting (`Checker.vetted`, bddc674): no target that the one URL rule refuses
may reach the wire on that path, whatever field it came from (an article's
image, a related article's image, its web URL). Loopback only: every
connection goes to one local server (`--connect-to`), which counts what it
is asked (issue 16 hostile review)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.report_schema import assert_valid_report

ROOT = Path(__file__).resolve().parents[2]
REFUSED = [
    "http://news.example:0/port-zero.png",  # --connect-to's empty PORT1 would take it
    "http://news.example/o k.png",
    "http://news.example:65536/big-port.png",
    "ftp://news.example/ftp.png",
]


@pytest.fixture
async def server() -> AsyncIterator[tuple[Counter[str], int]]:
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.StreamResponse:
        hits[request.path] += 1
        return web.Response(text="<title>t</title>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    assert srv.port is not None
    yield hits, srv.port
    await srv.close()


def image(url: str) -> dict[str, Any]:
    return {"url": url, "width": 1, "height": 1}


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_refused_targets_never_reach_the_wire(
    tmp_path: Path, server: tuple[Counter[str], int], workers: str
) -> None:
    hits, port = server
    record = {
        "webUrl": "http://news.example/story",
        "images": [image(u) for u in REFUSED[:2]],
        "related": [
            {"webUrl": "http://news.example/related", "images": [image(u) for u in REFUSED[2:]]}
        ],
    }
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps(record) + "\n")
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "monitor", "check", str(corpus), "--format", "json"],
        *["--connect-to", f"::127.0.0.1:{port}", "--allow-network", "127.0.0.0/8"],
        *["--timeout", "5", "--retries", "0", "--workers", workers],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err.decode()
    report = json.loads(out)
    assert_valid_report(report)
    outcomes = {t["url"]: t["outcome"] for a in report["articles"] for t in a["targets"]}
    assert {u: outcomes[u] for u in REFUSED} == dict.fromkeys(REFUSED, "invalid_url")
    asked = {p for p in hits if not p.startswith("/am-probe-")}  # the soft-404 probe's
    assert asked == {"/story", "/related"}, hits  # the refused ones never asked
