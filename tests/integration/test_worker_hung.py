"""`check --workers`: a worker that stops answering (SIGSTOP, a deadlock) while it
holds targets is killed once it has answered nothing for longer than a check can
take, and the run ends incomplete (WorkerFailed) instead of waiting for ever.

The short slack is set once the worker is stopped: the watch counts from the
targets' send, and a worker started on a loaded machine (over 1.5 s) was killed
as hung before its request, the test waiting for that request for ever."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import pytest
from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.check.processes import WorkerFailed, WorkerPool
from monitor.vocabulary import Kind

STARTING_SLACK_S = 3600.0  # no worker takes this long to start: no kill before the stop


async def test_a_stopped_worker_is_killed_and_the_run_ends_incomplete() -> None:
    arrived, hold = asyncio.Event(), asyncio.Event()
    r = web.RouteTableDef()

    @r.get("/held")
    async def held(request: web.Request) -> web.Response:
        arrived.set()
        await hold.wait()
        return web.Response(text="late")

    async with app_server(r) as srv:
        s = settings({"a.example": srv.port}, timeout=0.5, retries=0)
        pool = WorkerPool(s, 1, local=False)
        pool.hang_slack = STARTING_SLACK_S
        async with pool:
            pool.submit(Kind.WEB, "http://a.example/held")
            pool.close_input()
            channel = pool.channels[0]

            async def drain() -> None:
                async for _ in pool.batches():
                    pass

            run = asyncio.create_task(drain())
            await arrived.wait()
            assert channel.transport is not None
            pid = channel.transport.get_pid()
            os.kill(pid, signal.SIGSTOP)
            pool.hang_slack = 0.5  # stopped: silent for a check's time and this is hung
            try:
                with pytest.raises(WorkerFailed, match="killed as hung"):
                    await asyncio.wait_for(run, 60)  # a bound on a hang, not a timing
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                hold.set()
