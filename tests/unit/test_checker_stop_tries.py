"""After a daemon's stop (`Checker.stop_unsent`) a check under way sends no
further request: where it would retry (after a 429/503 hold at its host's
gate, or after its backoff sleep) or follow a redirect, it leaves with
HostHeld, for its claim to be given back (dispatch.py, requests.py), and a
check sleeping out a hold or a backoff is woken by the stop. Before, a retry
was sent once its wait ended, to a host that had asked us to wait, and the
check held the stop for its whole sleep.

The waits here are an hour long, each bounded by `wait_for`: before the fix
the check slept through the bound (TimeoutError, not HostHeld); no timing is
asserted."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from support.settings import settings

from monitor.http import Checker
from monitor.http.hostpool import HostHeld
from monitor.vocabulary import Kind, Outcome

HOUR = 3600.0
BOUND = 10.0  # a bound on a hang, never a timing
PAGE = "<!doctype html><title>ok</title><h1>ok</h1>"


class _Site:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.hit = asyncio.Event()
        self.redirect_go = asyncio.Event()  # /moved's and /page's answers wait for it


@pytest.fixture
async def site() -> AsyncIterator[tuple[int, _Site]]:
    state = _Site()

    async def page(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        state.hit.set()
        if request.path == "/busy/" and len(state.hits) == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": "3600"})
        if request.path == "/bad/" and len(state.hits) == 1:
            return web.Response(status=502, text="bad gateway")
        if request.path == "/moved/":
            await state.redirect_go.wait()
            raise web.HTTPMovedPermanently("/new/")
        if request.path == "/page/":
            await state.redirect_go.wait()
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield runner.addresses[0][1], state
    finally:
        state.redirect_go.set()
        await runner.cleanup()


class _Longest(random.Random):
    """The backoff's full jitter at its ceiling: the sleep is `backoff_base`."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def _stopped_after_first_answer(checker: Checker, state: _Site, url: str) -> None:
    task = asyncio.ensure_future(checker.check(url, Kind.WEB))
    await asyncio.wait_for(state.hit.wait(), BOUND)
    for _ in range(50):  # the answer read, the check waits for its retry
        await asyncio.sleep(0.01)
    assert not task.done()
    checker.stop_unsent()
    with pytest.raises(HostHeld):  # before: asleep an hour (TimeoutError)
        await asyncio.wait_for(task, BOUND)


@pytest.mark.parametrize("defer_after", [1.0, math.inf])  # a checker process's, in-process
async def test_a_retry_after_a_429_hold_is_not_sent_after_the_stop(
    site: tuple[int, _Site], defer_after: float
) -> None:
    """429 Retry-After: 3600: the retry waits at the host's gate; the stop wakes
    it and it leaves, the host asked once."""
    port, state = site
    s = settings({"news.example": port}, retries=2, retry_after_max=HOUR)
    async with Checker(s) as checker:
        checker.hosts.defer_after = defer_after
        await _stopped_after_first_answer(checker, state, "http://news.example/busy/")
    assert state.hits == ["/busy/"]


@pytest.mark.parametrize("defer_after", [1.0, math.inf])
async def test_a_retry_after_a_backoff_sleep_is_not_sent_after_the_stop(
    site: tuple[int, _Site], defer_after: float
) -> None:
    """502, an hour's backoff (the engine's own sleep, not the gate's): the stop
    wakes it and the retry leaves unsent."""
    port, state = site
    s = settings({"news.example": port}, retries=2, backoff_base=HOUR, backoff_max=HOUR)
    async with Checker(s, rng=_Longest()) as checker:
        checker.hosts.defer_after = defer_after
        await _stopped_after_first_answer(checker, state, "http://news.example/bad/")
    assert state.hits == ["/bad/"]


async def test_a_redirect_answered_after_the_stop_is_not_followed(
    site: tuple[int, _Site],
) -> None:
    """The stop comes while the first request is on the wire; its answer is a
    301: the next hop is a new request, not sent; the check leaves (given back
    whole, redone at the next start) rather than record half a chain."""
    port, state = site
    async with Checker(settings({"news.example": port})) as checker:
        checker.hosts.defer_after = math.inf  # in-process
        task = asyncio.ensure_future(checker.check("http://news.example/moved/", Kind.WEB))
        await asyncio.wait_for(state.hit.wait(), BOUND)
        checker.stop_unsent()
        state.redirect_go.set()
        with pytest.raises(HostHeld):  # before: /new/ requested, an answer returned
            await asyncio.wait_for(task, BOUND)
    assert state.hits == ["/moved/"]


async def test_the_soft_404_probe_is_not_sent_after_the_stop(
    site: tuple[int, _Site],
) -> None:
    """The page is answered after the stop: its soft-404 probe (a request to a
    random path) is not sent, and the check leaves rather than record a page
    left unjudged."""
    port, state = site
    async with Checker(settings({"news.example": port}, soft_404_probe=True)) as checker:
        checker.hosts.defer_after = math.inf
        task = asyncio.ensure_future(checker.check("http://news.example/page/", Kind.WEB))
        await asyncio.wait_for(state.hit.wait(), BOUND)
        checker.stop_unsent()
        state.redirect_go.set()
        with pytest.raises(HostHeld):  # before: the probe sent, an answer returned
            await asyncio.wait_for(task, BOUND)
    assert state.hits == ["/page/"]


async def test_without_a_stop_the_tries_and_hops_are_unchanged(
    site: tuple[int, _Site],
) -> None:
    """The same site, no stop: the 502 is retried, the redirect followed and the
    page probed."""
    port, state = site
    state.redirect_go.set()
    async with Checker(settings({"news.example": port}, retries=1)) as checker:
        checker.hosts.defer_after = math.inf
        bad = await asyncio.wait_for(checker.check("http://news.example/bad/", Kind.WEB), BOUND)
        moved = await asyncio.wait_for(checker.check("http://news.example/moved/", Kind.WEB), BOUND)
    async with Checker(settings({"news.example": port}, soft_404_probe=True)) as checker:
        checker.hosts.defer_after = math.inf
        page = await asyncio.wait_for(checker.check("http://news.example/page/", Kind.WEB), BOUND)
    assert bad.outcome is Outcome.OK and bad.attempts == 2
    assert moved.outcome is Outcome.MOVED and page.outcome is Outcome.OK
    assert state.hits[:5] == ["/bad/", "/bad/", "/moved/", "/new/", "/page/"]
    assert len(state.hits) == 6 and state.hits[5].startswith("/am-probe-"), state.hits
