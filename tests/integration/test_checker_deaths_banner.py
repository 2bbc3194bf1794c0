"""Checker processes that die again and again are said by /readyz (`checkers`)
and on the status pages' banner (session 16, G5). A broken install (the package
upgraded under a running daemon, an import that fails) or memory that kills them
one after another was said only in the log: the overview looked as usual."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.dispatching import daemon_for
from support.held_stop import running

from monitor.daemon import prestart

BOUND = 60.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=BOUND) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_checker_processes_that_keep_dying_are_on_readyz_and_the_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prestart, "WORKER_ARGS", ("-c", "import sys; sys.exit(3)"))
    daemon = daemon_for(tmp_path)
    update = {"listen": "127.0.0.1:0", "workers": 2, "shutdown_grace": 5.0}
    daemon.settings = daemon.settings.model_copy(update=update)
    task = await running(daemon)
    try:
        assert daemon.server is not None
        base = daemon.server.url

        async def failing() -> dict[str, object]:
            for _ in range(600):  # bounded: deaths at once, then 1 s, 2 s apart
                body = json.loads((await asyncio.to_thread(get, base + "/readyz"))[1])
                if "checkers" in body:
                    return body
                await asyncio.sleep(0.05)
            raise AssertionError("/readyz never said the checker processes fail")

        body = await asyncio.wait_for(failing(), BOUND)
        assert "replaced in the last 10 min" in str(body["checkers"])
        assert "exit status 3" in str(body["checkers"])
        status, page = await asyncio.to_thread(get, base + "/")
        assert status == 200
        assert "<strong>checker processes</strong>" in page and "exit status 3" in page
    finally:
        daemon.stop()
        await asyncio.wait_for(task, BOUND)
