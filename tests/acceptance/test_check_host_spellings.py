"""`check --per-host 1` holds for a host whatever its spelling in the records:
`a.test.`, `A.test` and `a.test` are one host, so the server never sees two of
their requests at once (they had one limit each), and the soft-404 probe asks it
once (it asked once a spelling)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web
from support.pages import page
from support.servers import app_server

ROOT = Path(__file__).resolve().parents[2]
SPELLINGS = ["a.test.", "A.test", "A.TEST.", "a.test"]
PER_SPELLING = 3


async def test_per_host_holds_across_the_spellings_of_one_host(tmp_path: Path) -> None:
    routes = web.RouteTableDef()

    @routes.get("/s/{n}")
    async def story(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)  # long enough for a second request to overlap, if let in
        return web.Response(text=page(), content_type="text/html")

    async with app_server(routes) as srv:
        records = tmp_path / "records.jsonl"
        lines = [
            {"webUrl": f"http://{host}:{srv.port}/s/{i}-{n}", "title": "A story"}
            for i, host in enumerate(SPELLINGS)
            for n in range(PER_SPELLING)
        ]
        records.write_text("".join(json.dumps(line) + "\n" for line in lines))
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "monitor", "check", str(records)],
            *["--format", "json", "--kinds", "web", "--per-host", "1", "--concurrency", "16"],
            *["--connect-to", f"::127.0.0.1:{srv.port}", "--allow-network", "127.0.0.0/8"],
            *["--retries", "0", "--timeout", "30"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    report = json.loads(out)
    outcomes = [t["outcome"] for a in report["articles"] for t in a["targets"]]
    assert outcomes == ["ok"] * len(lines), err.decode()
    assert srv.concurrency.total_peak == 1, dict(srv.concurrency.peak)
    # and the soft-404 probe asked the one host once for the directory, not once a spelling
    assert sum(n for path, n in srv.hits.items() if "am-probe" in path) == 1, dict(srv.hits)
