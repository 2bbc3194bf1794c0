"""The endpoints' requests still open at the stop get what is left of its budget.

The listener was closed with aiohttp's own shutdown timeout (5 s, waited twice:
for the handler, then for it once cancelled), outside the stop's budget: a
status read stuck on a database that stopped answering held a stop at the
defaults 31 s, past the shipped units' 30 s (a SIGKILL), and a request whose
answer came within the budget but after those 10 s was cut. The requests now
share the budget: answered within it, cut at its end (REQUESTS_AT_LEAST at
least). This test holds a /readyz past aiohttp's 10 s, well within a long
budget, and expects its answer.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from support.dispatching import daemon_for

from monitor.observe.endpoints import MetricsServer

BOUND = 60.0  # seconds: a bound on a hang, never a timing
PAST_AIOHTTP = 15.0  # seconds: longer than aiohttp's own 2 x 5 s before it cut a request


async def test_a_request_open_at_the_stop_is_answered_within_the_budget(
    tmp_path: Path,
) -> None:
    daemon = daemon_for(tmp_path)
    # a budget far longer than the test: the request is answered within it
    daemon.settings = daemon.settings.model_copy(update={"shutdown_grace": 300.0})
    entered, release = asyncio.Event(), asyncio.Event()

    async def readiness() -> tuple[bool, dict[str, Any]]:  # a ping the database holds
        entered.set()
        await release.wait()
        return True, {}

    server = MetricsServer(
        daemon.metrics, readiness, listen="127.0.0.1:0", threads=daemon.db_threads
    )
    await server.start()
    daemon.server = server
    answered: list[int | str] = []
    done = threading.Event()

    def ask() -> None:
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=BOUND) as resp:
                answered.append(resp.status)
        except (urllib.error.URLError, OSError) as exc:
            answered.append(type(exc).__name__)
        finally:
            done.set()

    client = threading.Thread(target=ask)
    client.start()
    try:
        await asyncio.wait_for(entered.wait(), BOUND)
        daemon.stop()
        closing = asyncio.create_task(daemon._close(None))
        # before: cut after aiohttp's 10 s (RemoteDisconnected), the budget unspent
        assert not await asyncio.to_thread(done.wait, PAST_AIOHTTP), answered
        release.set()
        await asyncio.wait_for(closing, BOUND)
        assert await asyncio.to_thread(done.wait, BOUND)
        assert answered == [200]
    finally:
        release.set()
        client.join(BOUND)
        await server.stop()
        daemon.engine.dispose()
