"""/readyz during the daemon's stop: 503 "stopping" at once, the database not asked.

Each request pinged the database (a thread of its own, `readiness-ping`, given
up on after PING_TIMEOUT and then waited for by the stop): on a database that
stopped answering every probe waited 2 s and left one more thread for the stop
to wait for and name; an answer from just before the stop was reused for a
second, "ready" (READY_TTL). /healthz stays `ok`: the process is alive
(CONTRACT section 5, docs/operations.md). The test holds a stop open with the
database's pings held.
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
from support.held_stop import BOUND, HANG, held_daemon, stop_held_open


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=BOUND) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_readyz_during_the_stop_says_stopping_without_a_ping(tmp_path: Path) -> None:
    daemon = held_daemon(tmp_path)
    armed, pinged, gate = (threading.Event() for _ in range(3))

    def hold_pings(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if armed.is_set() and statement == "SELECT 1":  # Repository.ping's
            pinged.set()
            gate.wait(HANG)  # a database that stopped answering

    event.listen(daemon.engine, "before_cursor_execute", hold_pings)

    async with stop_held_open(daemon, gate) as task:
        assert daemon.server is not None
        base = daemon.server.url
        armed.set()
        daemon.stop()
        status, body = await asyncio.to_thread(get, base + "/readyz")
        # before: a ping, held, given up on after 2 s: "database": "unreachable: …"
        assert (status, json.loads(body)) == (503, {"ready": False, "status": "stopping"})
        assert not pinged.is_set()
        assert await asyncio.to_thread(get, base + "/healthz") == (200, "ok\n")
        assert not task.done()  # the stop is still under way
        gate.set()
        assert await asyncio.wait_for(task, BOUND) == 0, daemon.failure
