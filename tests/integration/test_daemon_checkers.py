"""The daemon's checker processes (issue 16): the same answers as the in-process
checker, each host's requests in one process, and a checker process that dies
fails only the checks it held; the next check gets a new one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import pytest
from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.config import Settings
from monitor.daemon.checkers import CheckerGone, ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.pace import QUEUED_AHEAD, Pace
from monitor.daemon.prestart import processes_for
from monitor.http import Checker
from monitor.vocabulary import Kind, Outcome

PAGE = (
    "<html><head><title>t</title></head><body><p>"
    + " ".join(f"word{n}" for n in range(300))
    + "</p></body></html>"
)
STARTING_SLACK_S = 3600.0  # no checker process takes this long to start: no kill before a stop


def routes(
    hold: asyncio.Event | None = None, arrived: asyncio.Event | None = None
) -> web.RouteTableDef:
    r = web.RouteTableDef()

    @r.get("/ok/{n}")
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    @r.get("/gone")
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404)

    @r.get("/held")
    async def held(request: web.Request) -> web.Response:
        assert hold is not None and arrived is not None
        arrived.set()
        await hold.wait()
        return web.Response(text="late")

    return r


async def test_checker_processes_answer_as_the_in_process_checker() -> None:
    async with app_server(routes()) as srv:
        s = settings({"a.example": srv.port, "b.example": srv.port}, per_host=2)
        urls = [f"http://{h}.example/ok/{n}" for h in "ab" for n in range(40)]
        urls.append("http://a.example/gone")
        async with ProcessChecker(s, 2) as remote:
            got = await asyncio.gather(*(remote.check(u, Kind.WEB) for u in urls))
        async with Checker(s) as local:
            want = await asyncio.gather(*(local.check(u, Kind.WEB) for u in urls))
    assert [r.outcome for r in got] == [r.outcome for r in want]
    assert [r.http_status for r in got] == [r.http_status for r in want]
    assert [r.url for r in got] == urls
    assert got[-1].outcome is Outcome.NOT_FOUND
    assert {r.outcome for r in got[:-1]} == {Outcome.OK}
    # politeness lives in one process per host: per_host held for each name
    assert max(srv.concurrency.peak.values()) <= 2


async def test_a_checker_process_that_dies_fails_its_checks_and_is_replaced() -> None:
    hold, arrived = asyncio.Event(), asyncio.Event()
    async with app_server(routes(hold, arrived)) as srv:
        s = settings({"a.example": srv.port})
        async with ProcessChecker(s, 1) as remote:
            held = asyncio.create_task(remote.check("http://a.example/held", Kind.WEB))
            await arrived.wait()  # the worker is checking it
            pool = remote._pool
            assert pool is not None and pool.channels[0].transport is not None
            os.kill(pool.channels[0].transport.get_pid(), signal.SIGKILL)
            with pytest.raises(CheckerGone):
                await held
            hold.set()
            again = await remote.check("http://a.example/ok/1", Kind.WEB)
    assert again.outcome is Outcome.OK


async def test_checker_processes_mark_page_text_when_the_daemon_does() -> None:
    """The own-drift text marks (`text_drift`) come from the checker processes too."""
    async with app_server(routes()) as srv:
        s = settings({"a.example": srv.port}, text_drift=True)
        async with ProcessChecker(s, 1) as remote:
            got = await remote.check("http://a.example/ok/1", Kind.WEB)
        async with Checker(s) as local:
            local.text_hash = True
            want = await local.check("http://a.example/ok/1", Kind.WEB)
    assert got.facts is not None and want.facts is not None
    assert want.facts.text_hash is not None
    assert got.facts.text_hash == want.facts.text_hash


def test_checker_processes_only_for_many_targets_on_sqlite() -> None:
    auto = settings()
    assert processes_for(auto, 100, "sqlite") == 0
    assert processes_for(settings(workers=1), 10**6, "sqlite") == 0
    assert processes_for(settings(workers=3), 10, "sqlite") == 3
    assert processes_for(settings(workers=3), 10**6, "postgresql") == 0
    many = processes_for(auto, 10**6, "sqlite")
    assert many == (0 if (os.cpu_count() or 1) < 2 else max(1, min((os.cpu_count() or 1) - 1, 4)))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def paced_dispatcher(s: Settings, clock: Clock) -> Dispatcher:
    return Dispatcher(
        settings=lambda: s,
        repo=None,  # type: ignore[arg-type]  # not used by these
        db=None,  # type: ignore[arg-type]
        writer=None,  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: None,
        pace=Pace(clock),
    )


def end_checks(d: Dispatcher, n: int) -> None:
    for _ in range(n):
        d._pace.ended()  # what `_forget` does as each check ends


def test_with_checker_processes_claims_are_big_and_queued_ahead() -> None:
    """Claims of a few targets cost ~5x CPU a target of claims of hundreds: with
    checker processes the dispatcher holds up to 17x concurrency (16x queued in
    the processes, so they never run dry between claims) and claims only once
    `concurrency` slots are free (while checks are in flight)."""
    s = settings(concurrency=64)
    clock = Clock()
    d = paced_dispatcher(s, clock)
    d.checker = ProcessChecker(s, 1)
    assert d.capacity(s) == 2 * 64  # no rate known yet: one round ahead
    clock.now = 2.0
    end_checks(d, 4000)  # 2,000 checks/s
    assert d.capacity(s) == (1 + QUEUED_AHEAD) * 64 == 17 * 64
    assert d.least_claim(s) == 1  # nothing in flight: claim what there is
    d.inflight[1] = (None, None)  # type: ignore[assignment]
    assert d.least_claim(s) == 64
    d.checker = None
    assert d.capacity(s) == 64 and d.least_claim(s) == 1


def test_slow_checks_are_not_claimed_further_ahead_than_a_part_of_a_lease() -> None:
    """Hosts that answer a few checks a second behind their per-host limits: 16x
    concurrency queued ahead waited longer than `lease_seconds`, so their
    claims expired before their checks started and were claimed again. The
    queue ahead now holds what the recent rate checks in a quarter lease."""
    s = settings(concurrency=64, lease_seconds=60.0)
    clock = Clock()
    d = paced_dispatcher(s, clock)
    d.checker = ProcessChecker(s, 1)
    clock.now = 10.0
    end_checks(d, 20)  # 2 checks/s: 15 s of a 60 s lease holds 30
    assert d.capacity(s) == 64 + 64  # never less than one round ahead
    s2 = settings(concurrency=16, lease_seconds=60.0)
    assert d.capacity(s2) == 16 + 30
    clock.now = 20.0
    end_checks(d, 0)  # nothing ended for a whole window: one round ahead
    assert d.capacity(s2) == 16 + 16
    clock.now = 30.0
    end_checks(d, 50_000)  # fast again
    assert d.capacity(s2) == 16 + QUEUED_AHEAD * 16


async def test_a_hung_checker_process_is_killed_and_its_checks_fail() -> None:
    """A checker process that stops answering (SIGSTOP, a deadlock) held its checks
    for ever: each re-claim went back to it, and the daemon's slots filled with
    them. Once it has answered nothing for longer than a check can take, it is
    killed, its checks fail (checked again) and the next one gets a new process.

    The short slack holds only while the process is stopped: the watch counts from
    the send, and a process started on a loaded machine (over 1.5 s) was killed as
    hung before its request, the test waiting for that request for ever."""
    hold, arrived = asyncio.Event(), asyncio.Event()
    async with app_server(routes(hold, arrived)) as srv:
        s = settings({"a.example": srv.port}, timeout=0.5, retries=0)
        remote = ProcessChecker(s, 1)
        remote.hang_slack = STARTING_SLACK_S
        async with remote:
            held = asyncio.create_task(remote.check("http://a.example/held", Kind.WEB))
            await arrived.wait()  # the worker is checking it
            pool = remote._pool
            assert pool is not None and pool.channels[0].transport is not None
            pid = pool.channels[0].transport.get_pid()
            os.kill(pid, signal.SIGSTOP)
            pool.hang_slack = 0.5  # stopped: silent for a check's time and this is hung
            try:
                with pytest.raises(CheckerGone):
                    await asyncio.wait_for(held, 60)  # a bound on a hang, not a timing
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            pool.hang_slack = STARTING_SLACK_S  # the process in its place starts as slowly
            hold.set()
            again = await remote.check("http://a.example/ok/1", Kind.WEB)
    assert again.outcome is Outcome.OK
    with pytest.raises(ProcessLookupError):  # killed and reaped: no zombie left
        os.kill(pid, 0)
