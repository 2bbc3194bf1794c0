"""After a daemon's stop (`Checker.stop_unsent`: its checker process was told,
or the in-process daemon stops) no check starts its first request: one begun
after the stop leaves at once (HostHeld), nothing sent, whether its host's
gate has a free slot or not. The stop let go only the checks waiting at a gate
or for a request slot; one that reached the gate after it (the in-process
daemon's check of a target claimed again, which waits for the old check to
end, then starts) took a free slot and sent its request after the stop."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from support.settings import settings

from monitor.http import Checker
from monitor.http.hostpool import HostHeld
from monitor.vocabulary import Kind, Outcome


@pytest.fixture
async def site() -> AsyncIterator[tuple[int, list[str]]]:
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(
            text="<!doctype html><title>ok</title><h1>ok</h1>", content_type="text/html"
        )

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


@pytest.mark.parametrize("defer_after", [1.0, math.inf])  # a checker process's, in-process
async def test_a_check_begun_after_the_stop_sends_nothing(
    site: tuple[int, list[str]], defer_after: float
) -> None:
    port, hits = site
    async with Checker(settings({"news.example": port})) as checker:
        checker.hosts.defer_after = defer_after
        before = await checker.check("http://news.example/a/", Kind.WEB)
        assert before.outcome is Outcome.OK and hits == ["/a/"]
        checker.stop_unsent()
        with pytest.raises(HostHeld):  # before: its request was sent, a result returned
            await asyncio.wait_for(checker.check("http://news.example/b/", Kind.WEB), 10)
    assert hits == ["/a/"]


async def test_check_without_a_daemon_stop_is_unchanged(site: tuple[int, list[str]]) -> None:
    """`check`'s checker (no `defer_after`): `stop_unsent` lets nothing go."""
    port, hits = site
    async with Checker(settings({"news.example": port})) as checker:
        checker.stop_unsent()
        result = await asyncio.wait_for(checker.check("http://news.example/b/", Kind.WEB), 10)
    assert result.outcome is Outcome.OK and hits == ["/b/"]
