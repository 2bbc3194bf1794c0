"""The status pages and API during the daemon's stop: 503 "stopping" at once, the
database not read (session 16, G2).

They read on through the stop, each read a thread the stop then waited for (up to
its budget) on a database it was giving up on: the one it found damaged, or a
file deleted or replaced under it (its reads showed the old file's history as
current). /readyz already said "stopping", and /metrics answers from its last
snapshot; the pages and API now say so too, as they say "starting" during the
start: the API with its error shape, the pages with the daemon's health banner
("daemon: stopping"; before, a bare text line), both with Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import event
from support.held_stop import BOUND, held_daemon, stop_held_open

API = ["/api/v1/status", "/api/v1/targets", "/api/v1/targets/1", "/api/v1/openapi.json"]
PAGES = ["/", "/targets", "/targets/1", "/articles/x"]


def get(url: str) -> tuple[int, str, str | None]:
    try:
        with urllib.request.urlopen(url, timeout=BOUND) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Retry-After")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers.get("Retry-After")


async def test_the_status_pages_and_api_say_stopping_without_reading(tmp_path: Path) -> None:
    daemon = held_daemon(tmp_path)
    armed, gate = threading.Event(), threading.Event()
    read: list[str] = []

    def reads(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if armed.is_set():
            read.append(statement)

    event.listen(daemon.engine, "before_cursor_execute", reads)
    async with stop_held_open(daemon, gate) as task:
        assert daemon.server is not None
        base = daemon.server.url
        status, _, _ = await asyncio.to_thread(get, base + "/api/v1/status")
        assert status == 200  # before the stop: read
        armed.set()
        daemon.stop()
        for path in API:
            status, body, retry = await asyncio.to_thread(get, base + path)
            assert (status, json.loads(body), retry) == (503, {"error": "stopping"}, "10"), path
        for path in PAGES:
            status, body, retry = await asyncio.to_thread(get, base + path)
            assert (status, retry) == (503, "10"), path
            assert '<strong>daemon</strong>: <span class="reason">stopping</span>' in body, path
        assert read == []  # none of them read the database the stop is giving up on
        assert not task.done()  # the stop is still under way
        gate.set()
        assert await asyncio.wait_for(task, BOUND) == 0, daemon.failure
