"""A request handed a free request slot just before the daemon's stop, whose
task had not run yet, sends nothing after the stop (HostHeld) and gives the
slot back. `Client.stop` failed only the waits still waiting: one already
handed its slot (a request ended in the same turn of the loop as the signal)
went on to send its request after the stop (R32), where the host's gate
looks again once its wait ends (HostPool._enter)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from support.settings import settings
from yarl import URL

from monitor.http import Checker
from monitor.http.hostpool import HostHeld


@pytest.fixture
async def site() -> AsyncIterator[tuple[int, list[str]]]:
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="<!doctype html><title>ok</title>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield runner.addresses[0][1], hits
    finally:
        await runner.cleanup()


async def test_a_request_handed_its_slot_before_the_stop_sends_nothing(
    site: tuple[int, list[str]],
) -> None:
    port, hits = site
    async with Checker(settings({"news.example": port}, concurrency=1)) as checker:
        checker.hosts.defer_after = math.inf  # the in-process daemon's
        client = checker.client
        limit = client._limit
        assert limit.try_take()  # a request in flight holds the only slot
        waiting = asyncio.ensure_future(client.get(URL("http://news.example/b/"), {}))
        await asyncio.sleep(0)
        assert limit.waiters, "the request waits for a slot"
        limit.give()  # the request in flight ends: its slot handed to the waiting one
        checker.stop_unsent()  # the stop, before the waiting one's task runs
        with pytest.raises(HostHeld):  # before: its request was sent after the stop
            await asyncio.wait_for(waiting, 10)
        assert limit.free == 1 and not limit.waiters  # the handed slot given back
    assert hits == []
