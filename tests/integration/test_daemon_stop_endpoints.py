"""The endpoints' requests still open at the stop get what is left of its budget.

The listener was closed with aiohttp's own shutdown timeout (5 s, waited twice:
for the handler, then for it once cancelled), outside the stop's budget: a
status read stuck on a database that stopped answering held a stop at the
defaults 31 s, past the shipped units' 30 s (a SIGKILL), and a request whose
answer came within the budget but after those 10 s was cut. The requests now
share the budget: answered within it, cut at its end (REQUESTS_AT_LEAST at
least). This test holds a /readyz past the server's own bound (STOP_WITHIN,
lowered to 1 s: the runner's shutdown timeout and `stop`'s default both come
from it, so a stop that handed aiohttp anything but the budget cuts the request
within it), well within a long budget, and expects its answer. It waited out
aiohttp's own 10 s before (15 s of the suite).
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.dispatching import daemon_for

from monitor.observe import endpoints
from monitor.observe.endpoints import MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.values import Snapshot

BOUND = 60.0  # seconds: a bound on a hang, never a timing
SERVER_BOUND = 1.0  # the server's own bound on its open requests at a stop, lowered
PAST_SERVER = 2 * SERVER_BOUND  # longer than that bound, before which it cut a request


def ask(url: str, answered: list[int | str], done: threading.Event) -> None:
    """GET `url`: its status, or the error's class when the stop cut it."""
    try:
        with urllib.request.urlopen(url, timeout=BOUND) as resp:
            answered.append(resp.status)
    except (urllib.error.URLError, OSError) as exc:
        answered.append(type(exc).__name__)
    finally:
        done.set()


async def test_a_request_open_at_the_stop_is_answered_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "STOP_WITHIN", SERVER_BOUND)
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
    client = threading.Thread(target=ask, args=(server.url + "/readyz", answered, done))
    client.start()
    try:
        await asyncio.wait_for(entered.wait(), BOUND)
        daemon.stop()
        closing = asyncio.create_task(daemon._close(None))
        # before: cut after aiohttp's own bound (RemoteDisconnected), the budget unspent
        assert not await asyncio.to_thread(done.wait, PAST_SERVER), answered
        release.set()
        await asyncio.wait_for(closing, BOUND)
        assert await asyncio.to_thread(done.wait, BOUND)
        assert answered == [200]
    finally:
        release.set()
        client.join(BOUND)
        await server.stop()
        daemon.engine.dispose()


async def test_a_stop_given_no_time_left_does_not_wait_for_a_request() -> None:
    """aiohttp reads a shutdown timeout of 0 as none at all: a stop whose budget
    was spent, given 0, waited for a request stuck on the database for good."""
    entered = asyncio.Event()

    async def readiness() -> tuple[bool, dict[str, Any]]:  # a ping that never returns
        entered.set()
        await asyncio.Event().wait()
        return True, {}

    server = MetricsServer(DaemonMetrics(Snapshot), readiness, listen="127.0.0.1:0")
    await server.start()
    answered: list[int | str] = []
    done = threading.Event()
    client = threading.Thread(target=ask, args=(server.url + "/readyz", answered, done))
    client.start()
    try:
        await asyncio.wait_for(entered.wait(), BOUND)
        await asyncio.wait_for(server.stop(0), BOUND)  # before: waited BOUND, for good
        assert await asyncio.to_thread(done.wait, BOUND)
        assert answered != [200], answered  # cut: no answer came
    finally:
        await server.stop()
        client.join(BOUND)
