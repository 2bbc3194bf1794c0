"""Per-host limits, minimum interval, retries and Retry-After, through real servers."""

from __future__ import annotations

import asyncio
import itertools
import time
import types
from collections import defaultdict

import pytest
from aiohttp import web
from support.checks import check_all
from support.servers import RawConn, app_server, raw_server
from support.settings import settings

from monitor.http import Checker, hostpool
from monitor.vocabulary import Kind, Outcome

PAGE = "<html><head><title>t</title></head><body></body></html>"


def flaky_routes() -> tuple[web.RouteTableDef, dict[str, list[float]]]:
    """Routes whose answers depend on how often they were called."""
    routes = web.RouteTableDef()
    seen: dict[str, list[float]] = defaultdict(list)

    def note(request: web.Request) -> int:
        seen[request.path].append(time.monotonic())
        return len(seen[request.path])

    @routes.get("/slow/{n}")
    async def slow(request: web.Request) -> web.Response:
        note(request)
        await asyncio.sleep(0.15)
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/always/{status}")
    async def always(request: web.Request) -> web.Response:
        note(request)
        return web.Response(status=int(request.match_info["status"]), text="no")

    @routes.get("/once/{status}")
    async def once(request: web.Request) -> web.Response:
        if note(request) == 1:
            return web.Response(status=int(request.match_info["status"]), text="later")
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/retry-after/{value}")
    async def retry_after(request: web.Request) -> web.Response:
        if note(request) == 1:
            headers = {"Retry-After": request.match_info["value"]}
            return web.Response(status=429, text="slow down", headers=headers)
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/stall-once")
    async def stall_once(request: web.Request) -> web.Response:
        if note(request) == 1:
            await asyncio.sleep(2)
        return web.Response(text=PAGE, content_type="text/html")

    return routes, seen


async def test_per_host_limit_holds_while_hosts_run_in_parallel() -> None:
    routes, _ = flaky_routes()
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port, "b.example": srv.port}, per_host=3, concurrency=16)
        targets = [
            (Kind.WEB, f"http://{host}/slow/{i}")
            for i in range(9)
            for host in ("a.example", "b.example")
        ]
        async with Checker(s) as checker:
            results = await check_all(checker, targets, concurrency=16)
    assert all(r.outcome is Outcome.OK for r in results)
    assert dict(srv.concurrency.peak) == {"a.example": 3, "b.example": 3}
    assert srv.concurrency.total_peak == 6  # the global limit (16) was not the bound


async def test_global_limit_holds() -> None:
    routes, _ = flaky_routes()
    hosts = {f"h{i}.example": 0 for i in range(6)}
    async with app_server(routes) as srv:
        s = settings(dict.fromkeys(hosts, srv.port), per_host=4, concurrency=3)
        targets = [(Kind.WEB, f"http://{h}/slow/{i}") for i in range(2) for h in hosts]
        async with Checker(s) as checker:
            await check_all(checker, targets, concurrency=8)
    assert srv.concurrency.total_peak == 3  # the connector's limit, below the runner's 8


async def test_minimum_interval_spaces_request_starts() -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, per_host=4, host_min_interval=0.2)
        targets = [(Kind.WEB, f"http://a.example/always/200?{i}") for i in range(4)]
        async with Checker(s) as checker:
            await check_all(checker, targets, concurrency=4)
    starts = seen["/always/200"]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 4
    # spaced on the client; arrival adds jitter (connection setup under load)
    assert starts[-1] - starts[0] >= 0.5, gaps
    assert min(gaps) >= 0.1, gaps


async def test_transient_status_is_retried_up_to_the_limit() -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=2)) as checker:
            result = await checker.check("http://a.example/always/502", Kind.WEB)
    assert (result.outcome, result.http_status, result.attempts) == (Outcome.HTTP_ERROR, 502, 3)
    assert len(seen["/always/502"]) == 3


async def test_transient_failure_then_success() -> None:
    routes, _ = flaky_routes()
    async with app_server(routes) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=2)) as checker:
            result = await checker.check("http://a.example/once/504", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.OK, 2)


async def test_permanent_status_is_not_retried() -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=3)) as checker:
            result = await checker.check("http://a.example/always/404", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.NOT_FOUND, 1)
    assert len(seen["/always/404"]) == 1


async def test_rate_limited_after_retries() -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, retries=2, backoff_base=0.01)
        async with Checker(s) as checker:
            result = await checker.check("http://a.example/always/429", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.RATE_LIMITED, 3)
    assert len(seen["/always/429"]) == 3


@pytest.fixture
def gate_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the host gates ask for (and sleep, for real): what the client
    decided, free of the scheduling jitter of a loaded machine."""
    waits: list[float] = []
    real = asyncio.sleep
    proxy = types.ModuleType("asyncio")
    proxy.__dict__.update(vars(asyncio))

    async def sleep(delay: float) -> None:
        waits.append(delay)
        await real(delay)

    proxy.sleep = sleep  # type: ignore[attr-defined]
    monkeypatch.setattr(hostpool, "asyncio", proxy)
    return waits


async def test_retry_after_seconds_is_honoured(gate_waits: list[float]) -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=1)) as checker:
            result = await checker.check("http://a.example/retry-after/1", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.OK, 2)
    first, second = seen["/retry-after/1"]
    assert second - first >= 0.95  # the retry cannot come before the wait ends
    assert len(gate_waits) == 1 and gate_waits[0] <= 1.0  # and waits no longer than asked
    # the wait is politeness, not server latency
    assert result.latency_ms is not None and result.latency_ms < 500


async def test_retry_after_is_capped(gate_waits: list[float]) -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, retries=1, retry_after_max=0.2)
        async with Checker(s) as checker:
            result = await checker.check("http://a.example/retry-after/3600", Kind.WEB)
    assert result.outcome is Outcome.OK
    first, second = seen["/retry-after/3600"]
    assert second - first >= 0.19
    assert gate_waits and max(gate_waits) <= 0.2  # capped, whatever the clock says


async def test_retry_after_applies_to_the_whole_host() -> None:
    """A 429 slows every request to that host, not just the one retried."""
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=1)) as checker:
            first = asyncio.create_task(checker.check("http://a.example/retry-after/1", Kind.WEB))
            for _ in range(500):  # until the 429 has been received
                if checker.hosts.backoff_remaining("a.example") > 0:
                    break
                await asyncio.sleep(0.01)
            other = await checker.check("http://a.example/always/200", Kind.WEB)
            await first
    assert other.outcome is Outcome.OK
    assert seen["/always/200"][0] - seen["/retry-after/1"][0] >= 0.95


async def test_timeout_is_retried_with_a_fresh_budget() -> None:
    routes, seen = flaky_routes()
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, retries=1, timeout=0.5)
        async with Checker(s) as checker:
            result = await checker.check("http://a.example/stall-once", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.OK, 2)
    assert len(seen["/stall-once"]) == 2


async def test_reset_is_retried() -> None:
    """A reset on a fresh connection is the target's answer: one attempt, one
    connection (the client resends only on a kept-alive connection); the
    retry gets the page."""

    async def reset_first(conn: RawConn) -> None:
        await conn.read_request()
        if conn.stats.connections <= 1:
            conn.reset()
            return
        body = PAGE.encode()
        await conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )

    async with raw_server(reset_first) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=1)) as checker:
            result = await checker.check("http://a.example/", Kind.WEB)
    assert (result.outcome, result.attempts) == (Outcome.OK, 2), result.error
    assert srv.stats.connections == 2


async def test_stale_keep_alive_connection_is_resent_and_counted() -> None:
    """The server answers once, keeps the connection, then drops it on the next
    request: that says nothing about the target, so the request goes out again
    on a fresh connection, even with no retries, and `attempts` counts it."""

    async def keep_then_drop(conn: RawConn) -> None:
        body = PAGE.encode()
        response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        await conn.read_request()
        await conn.send(response)
        if conn.stats.connections == 1:
            await conn.read_request()  # the second request on the kept-alive connection
            conn.reset()

    async with raw_server(keep_then_drop) as srv:
        async with Checker(settings({"a.example": srv.port}, retries=0)) as checker:
            first = await checker.check("http://a.example/one", Kind.WEB)
            second = await checker.check("http://a.example/two", Kind.WEB)
    assert (first.outcome, first.attempts) == (Outcome.OK, 1)
    assert (second.outcome, second.attempts) == (Outcome.OK, 2), second.error
    assert srv.stats.connections == 2
