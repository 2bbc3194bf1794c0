"""The daemon's stop reaches its checker processes as a signal (PARENT_STOPS), not
only as cancels through their pipes: a SIGTERM to the daemon alone (a container's
PID 1, `kill PID`) reached them only by the pipe, and meanwhile each started a
queued request for every check that ended (~200 at concurrency 1024). Told, a
process starts none of its queued requests; they come back by their ids, and
the process passes nothing back to the daemon (it is not a stop of its own)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.check.prestart import PARENT_STOPS
from monitor.daemon.checkers import CheckerGone, CheckerStopped, ProcessChecker
from monitor.vocabulary import Kind, Outcome

QUEUED = 5


def routes(hold: asyncio.Event, arrived: asyncio.Event, seen: list[str]) -> web.RouteTableDef:
    r = web.RouteTableDef()

    @r.get("/held")
    async def held(request: web.Request) -> web.Response:
        arrived.set()
        await hold.wait()
        return web.Response(text="<html><head><title>t</title></head></html>")

    @r.get("/queued/{n}")
    async def queued(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(text="<html><head><title>t</title></head></html>")

    return r


@contextmanager
def stops_received() -> Iterator[list[int]]:
    """The stop signals this (the daemon's) process gets meanwhile."""
    got: list[int] = []
    old = {sig: signal.signal(sig, lambda s, f: got.append(s)) for sig in (2, 15)}
    try:
        yield got
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


async def test_a_daemon_stop_tells_its_checker_processes_to_start_nothing_queued() -> None:
    hold, arrived, seen = asyncio.Event(), asyncio.Event(), []
    async with app_server(routes(hold, arrived, seen)) as srv:
        s = settings({"a.example": srv.port}, concurrency=1, per_host=1, retries=0)
        with stops_received() as got:
            async with ProcessChecker(s, 1) as remote:
                held = remote.submit("http://a.example/held", Kind.WEB)
                queued = [
                    remote.submit(f"http://a.example/queued/{n}", Kind.WEB) for n in range(QUEUED)
                ]
                assert held is not None and all(q is not None for q in queued)
                async with asyncio.timeout(30):  # a bound on a hang, never a timing
                    await arrived.wait()  # the process runs `held`; the rest wait behind it
                # as the daemon's stop does, before it cancels anything: the signal is
                # pending in the process before `held`'s answer is sent
                remote.stop()
                hold.set()
                async with asyncio.timeout(30):
                    done = await asyncio.gather(held, *queued, return_exceptions=True)
    first, rest = done[0], done[1:]
    assert not isinstance(first, BaseException) and first.outcome is Outcome.OK  # it ran on
    assert all(isinstance(r, CheckerStopped) for r in rest), rest
    assert seen == []  # none of the queued requests went out
    assert got == []  # nothing passed back to the daemon: not a stop of the process's own


@pytest.mark.parametrize("count", [2])
async def test_a_stopped_pool_of_processes_all_hear_it(count: int) -> None:
    """Each live process is told; a process already gone is passed over."""
    hold, arrived, seen = asyncio.Event(), asyncio.Event(), []
    async with app_server(routes(hold, arrived, seen)) as srv:
        s = settings({"a.example": srv.port}, concurrency=2, retries=0)
        async with ProcessChecker(s, count) as remote:
            pool = remote._pool
            assert pool is not None
            gone = pool.channels[0].transport
            assert gone is not None
            gone.kill()
            await pool.channels[0].wait()
            remote.stop()  # no ProcessLookupError from the one gone
            hold.set()


async def test_a_stray_stop_signal_to_a_process_alone_gets_it_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGUSR2 sent to a checker process by someone else (the daemon runs on): the
    process skipped every request from then on, and the daemon gave their targets
    back, checking nothing, for ever. It is replaced, and checks go on. A check it
    skipped fails as one of a process that ended (tried again, not given back as
    at a stop), and checks meanwhile wait for the new process."""
    hold, arrived, seen = asyncio.Event(), asyncio.Event(), []
    hold.set()
    async with app_server(routes(hold, arrived, seen)) as srv:
        s = settings({"a.example": srv.port}, concurrency=2, retries=0)
        remote = ProcessChecker(s, 1)
        remote.stray_stop_s = 0.2
        async with remote:
            first = await remote.check("http://a.example/queued/0", Kind.WEB)
            assert first.outcome is Outcome.OK
            pool = remote._pool
            assert pool is not None and pool.channels[0].transport is not None
            stray = pool.channels[0].transport.get_pid()
            os.kill(stray, PARENT_STOPS)
            skipped = remote.submit("http://a.example/queued/1", Kind.WEB)
            assert skipped is not None
            with pytest.raises(CheckerGone) as gone:
                await asyncio.wait_for(skipped, 30)  # a bound on a hang, never a timing
            assert not isinstance(gone.value, CheckerStopped)  # tried again by the daemon
            # held for the process in its place, not sent to the one that skips
            again = await asyncio.wait_for(remote.check("http://a.example/queued/2", Kind.WEB), 60)
            assert again.outcome is Outcome.OK
            assert pool.channels[0].transport is not None
            assert pool.channels[0].transport.get_pid() != stray
    assert "/queued/1" not in seen and "/queued/2" in seen
    assert any("stray stop signal" in r.getMessage() for r in caplog.records)
