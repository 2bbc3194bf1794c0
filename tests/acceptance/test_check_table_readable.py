"""`check --format table` (and markdown) as a first-time user reads them, through the CLI.

Three defects a new user met on the bundled examples: a problem code in its own
narrow column was folded mid-word ("provider_domain_mi" / "smatch"), so the code
printed could not be searched for; `--offline` said "105 targets, 0 ok, 0
problems" in green, as if nothing were healthy and nothing wrong, with no word that
none was requested; and "2 ok, 179 problems (ok 105)" named two counts "ok"."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from support.pages import page

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}


def check(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**ENV, "COLUMNS": "80"},
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout


def test_problem_codes_are_printed_whole() -> None:
    """examples/broken's findings, offline: every code in the table appears whole,
    the long ones included (a folded code was two fragments)."""
    code, table = check("examples/broken", "--offline", "--format", "table")
    assert code == 1
    _, raw = check("examples/broken", "--offline", "--format", "json")
    report = json.loads(raw)
    codes = {p["code"] for a in report["articles"] for p in a["problems"]}
    codes |= {p["code"] for a in report["articles"] for t in a["targets"] for p in t["problems"]}
    assert {"provider_domain_mismatch", "published_in_future"} <= codes
    for c in codes:
        assert c in table, c


def test_offline_says_the_targets_were_not_requested() -> None:
    for fmt in ("table", "markdown"):
        code, out = check("examples/articles", "--offline", "--format", fmt)
        assert code == 0
        assert "18 articles, 105 targets (105 not requested), 0 ok, 0 problems" in out, out


async def test_the_outcomes_are_named_apart_from_the_healthy_count(tmp_path: Path) -> None:
    """A page answering 200 with a problem (no <link rel=amphtml> to its declared
    AMP page): 0 ok (healthy), and its outcome ok named as an outcome."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=page(title="Story"), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        doc = {"webUrl": "http://news.test/a", "ampWebUrl": "http://news.test/a/amp"}
        (tmp_path / "a.json").write_text(json.dumps(doc))
        args = [str(tmp_path), "--kinds", "web", "--format", "table", "--retries", "0"]
        args += ["--connect-to", f"::127.0.0.1:{server.port}", "--allow-network", "127.0.0.0/8"]
        args += ["--no-related"]
        code, out = await asyncio.to_thread(check, *args)
    finally:
        await server.close()
    assert code == 1
    assert "1 targets, 0 ok, " in out and " (outcomes: ok 1) in " in out, out
