"""`check` on a terminal: the progress bar (stderr) leaves the screen before the
report (stdout, the same terminal) is written, through the CLI under a pty.

The bar redrew from its own thread until the run's end, after the report was
written: the table's first line followed the bar's ("checking ━━ 1/102
0:00:00examples/…"), the summary line the bar's final redraw ("… 102/102
0:00:0018 articles, …"), and streamed JSON lines were erased by its redraws."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.pages import page

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}


def on_a_terminal(args: list[str]) -> bytes:
    """Run `check ARGS` with stdout and stderr on one pty; everything the screen got."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env={**ENV, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
        assert proc.wait(timeout=60) in (0, 1), screen.decode(errors="replace")
    return screen


@pytest.mark.parametrize(("fmt", "first"), [("table", b"a.json:1"), ("json", b'{"version"')])
async def test_the_bar_is_gone_before_the_report(tmp_path: Path, fmt: str, first: bytes) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=page(title="Story"), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        docs = [{"webUrl": f"http://news.test/a{n}", "title": "Other"} for n in range(3)]
        (tmp_path / "a.json").write_text(json.dumps(docs))
        args = [str(tmp_path), "--format", fmt, "--retries", "0", "--kinds", "web"]
        args += ["--connect-to", f"::127.0.0.1:{server.port}", "--allow-network", "127.0.0.0/8"]
        screen = await asyncio.to_thread(on_a_terminal, args)
    finally:
        await server.close()
    assert b"checking" in screen or fmt == "json", screen  # the bar was shown (table)
    start = screen.index(first)
    assert b"checking" not in screen[start:], screen[start - 200 :]
    assert b"3 articles, 3 targets" in screen or fmt == "json"
