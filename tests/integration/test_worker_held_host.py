"""A daemon's checker process's loops (monitor.check.requests) over the real
engine, against loopback servers: while `cdn.test` holds everything back
(`429 Retry-After: 30`), its checks that sent nothing are given back with the
hold's seconds, its check between its tries and a redirect's hop into it wait
aside (a request of theirs was sent), and `news.test`'s pages are checked by
the process's loops meanwhile (R24). Before, those loops waited out the hold."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.check.pipe import Request, Row
from monitor.check.requests import Requests
from monitor.http import Checker
from monitor.http.hostpool import HOLD_SLACK
from monitor.vocabulary import Kind


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the loops to get somewhere (bounded: 10 s, a hang's bound)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("they never got there")


def site() -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/img/{name}")
    async def image(request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down", headers={"Retry-After": "30"})

    @routes.get("/r/")
    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://cdn.test/img/r.png")

    @routes.get("/s/{name}")
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><title>t</title></html>", content_type="text/html")

    return routes


async def test_a_held_host_gives_back_what_it_can_and_the_loops_go_on() -> None:
    async with app_server(site()) as srv:
        s = settings(
            {"cdn.test": srv.port, "news.test": srv.port},
            retries=1,
            retry_after_max=30.0,
            per_host=1,
            concurrency=2,
        )
        async with Checker(s) as checker:
            queue: asyncio.Queue[Request | None] = asyncio.Queue()
            rows: list[Row] = []
            cancelled: list[int] = []
            deferred: dict[int, float] = {}
            requests = Requests(
                queue, checker, rows.append, cancelled.append, None, deferred.__setitem__
            )
            checker.hosts.defer_after = HOLD_SLACK  # as worker.py sets them
            checker.hosts.on_park = requests.park
            cdn = [(Kind.IMAGE, f"http://cdn.test/img/{n}.png", n) for n in range(3)]
            for request in [*cdn, (Kind.WEB, "http://news.test/r/", 3)]:
                queue.put_nowait(request)
            run = asyncio.create_task(requests.run(2))

            await until(lambda: len(deferred) == 2 and len(requests.parked) == 2)
            # 0 was answered 429 and waits for its retry; 1 waited for the gate's
            # one slot and 2 came after: given back; the redirect's hop into the
            # held host waits too (its first request went to news.test)
            assert set(deferred) == {1, 2} and all(25 < s <= 30 for s in deferred.values())
            assert set(requests.running) == {0, 3} and not rows
            for n in range(3):  # the loops in the parked ones' places check the pages
                queue.put_nowait((Kind.WEB, f"http://news.test/s/{n}", 4 + n))

            await until(lambda: len(rows) == 3)
            assert sorted(row[0] for row in rows) == [4, 5, 6]
            assert srv.hits["/img/0.png"] == 1 and srv.hits["/r/"] == 1
            assert not any(srv.hits[f"/img/{n}.png"] for n in (1, 2)) and not srv.hits["/img/r.png"]
            requests.cancel((0, 3))  # the parent's cancels: each answered once
            queue.put_nowait(None)
            queue.put_nowait(None)
            await asyncio.wait_for(run, 10)
            assert sorted(cancelled) == [0, 3] and len(rows) == 3
            assert not requests.running and not requests.parked and len(requests.loops) == 2
