"""The daemon's checker processes, driven by the Dispatcher against loopback servers:

- one process that dies (killed, OOM, a crash on a hostile page) costs only
  its own checks, which are checked again by the process started in its
  place; the other processes' checks go on, one request each. A death
  restarted the whole pool: the healthy processes' checks were lost and
  requested again;
- a target claimed again while its old check runs in a process (its lease ran
  out mid-check): the cancel reaches the process, so the host never sees the
  old request beside the new one, and the result recorded is the new check's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.check.processes import host_owner
from monitor.config import Settings
from monitor.daemon import checkers
from monitor.daemon.checkers import CheckerGone, ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

BOUND = 60  # seconds: a bound on a hang, never a timing


class Repo:
    """Hands out `claims()` at each claim, with a new lease each time."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.lease = 0
        self.more = 1  # claims to hand out

    def claim_due(self, *args: Any) -> list[Claimed]:
        if not self.more:
            return []
        self.more -= 1
        self.lease += 1
        return [
            Claimed(n, url, Kind.WEB, TargetState(), self.lease, ())
            for n, url in enumerate(self.urls)
        ]


class Writer:
    backlog = 0


def dispatcher(
    s: Settings, repo: Repo, finished: list[tuple[Claimed, CheckResult]], done: asyncio.Event
) -> Dispatcher:
    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    def finish(claim: Claimed, result: CheckResult) -> None:
        finished.append((claim, result))
        if len(finished) == len(repo.urls):
            done.set()

    return Dispatcher(
        settings=lambda: s,
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=finish,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )


async def test_a_dead_checker_process_costs_only_its_own_checks() -> None:
    hold, arrived = asyncio.Event(), asyncio.Event()
    seen = Counter[str]()
    r = web.RouteTableDef()

    @r.get("/held/{name}")
    async def held(request: web.Request) -> web.Response:
        seen[request.path] += 1
        if sum(seen.values()) in (6, 9):  # all six, then the dead one's three again
            arrived.set()
        await hold.wait()
        return web.Response(text="<html><title>t</title></html>", content_type="text/html")

    # a.example's checks go to process 0, b.example's to process 1
    assert [host_owner(f"http://{h}.example/", 2, parent_weight=0.0) for h in "ab"] == [0, 1]
    urls = [f"http://{h}.example/held/{h}{n}" for h in "ab" for n in range(3)]
    async with app_server(r) as srv:
        s = settings({"a.example": srv.port, "b.example": srv.port}, timeout=BOUND, per_host=4)
        finished: list[tuple[Claimed, CheckResult]] = []
        done = asyncio.Event()
        d = dispatcher(s, Repo(urls), finished, done)
        async with ProcessChecker(s, 2) as remote:
            d.checker = remote
            await d.dispatch()
            await asyncio.wait_for(arrived.wait(), BOUND)  # every check is at the server
            arrived.clear()
            pool = remote._pool
            assert pool is not None
            dead, alive = (c.transport.get_pid() for c in pool.channels if c.transport)
            os.kill(dead, signal.SIGKILL)
            # the dead one's checks are requested again, by the process in its place
            await asyncio.wait_for(arrived.wait(), BOUND)
            hold.set()
            await asyncio.wait_for(done.wait(), BOUND)
            pids = [c.transport.get_pid() for c in pool.channels if c.transport]
    # the other process's checks: one request each, never lost and sent again
    assert seen == {f"/held/{h}{n}": 2 if h == "a" else 1 for h in "ab" for n in range(3)}
    assert pids[0] != dead and pids[1] == alive  # the other process was left running
    assert sorted(c.url for c, _ in finished) == sorted(urls)  # each recorded once
    assert {res.outcome for _, res in finished} == {Outcome.OK}
    assert d.lost == 0 and d.failed == 0


class Stats:
    def __init__(self) -> None:
        self.now = Counter[str]()
        self.peak = Counter[str]()
        self.hits = Counter[str]()
        self.first = asyncio.Event()
        self.second = asyncio.Event()
        self.held: list[HoldFirst] = []


class HoldFirst(asyncio.Protocol):
    """Holds the first request for a path; answers later ones at once (200). A
    request is in flight from its head until it is answered or its connection
    closes, counted synchronously on the server's loop."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buf = b""
        self.path: str | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.path is not None or b"\r\n\r\n" not in self.buf:
            return
        st, self.path = self.stats, self.buf.split(b" ", 2)[1].decode()
        for earlier in st.held:
            earlier.closed_by_peer()  # in the kernel's order, not the loop's
        st.hits[self.path] += 1
        st.now[self.path] += 1
        st.peak[self.path] = max(st.peak[self.path], st.now[self.path])
        if st.hits[self.path] == 1:
            st.held.append(self)
            st.first.set()
        else:
            self.answer(200)
            st.second.set()

    def answer(self, status: int) -> None:
        if self.transport is None or self.transport.is_closing() or self.path is None:
            return
        body = b"<html><head><title>t</title></head></html>"
        self.transport.write(
            b"HTTP/1.1 %d X\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, len(body), body)
        )
        self.stats.now[self.path] -= 1
        self.path = None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.path is not None:
            self.stats.now[self.path] -= 1
            self.path = None

    def closed_by_peer(self) -> None:
        """Count this request as over if its client has closed the connection.
        The loop may hand a new connection's request over before an older
        connection's close (both ready in one turn): the kernel has both in the
        order the client made them, so ask it (a peek that reads b"" at the end)."""
        if self.path is None or self.transport is None:
            return
        # asyncio hands out a TransportSocket, which has no recv: peek on a duplicate
        # of its descriptor (the same socket; closing the duplicate leaves it open)
        fd = self.transport.get_extra_info("socket").fileno()
        try:
            with socket.socket(fileno=os.dup(fd)) as sock:
                ended = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            ended = False
        except OSError:  # reset, or already closed (fileno -1)
            ended = True
        if ended:
            self.connection_lost(None)


@asynccontextmanager
async def hold_first_server(stats: Stats) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HoldFirst(stats), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_reclaimed_targets_old_request_is_cancelled_in_its_process() -> None:
    stats = Stats()
    url = "http://news.example/a"
    async with hold_first_server(stats) as port:
        # per_host 2: the process's own limit does not keep the two apart
        s = settings({"news.example": port}, timeout=BOUND, per_host=2)
        finished: list[tuple[Claimed, CheckResult]] = []
        done = asyncio.Event()
        repo = Repo([url])
        d = dispatcher(s, repo, finished, done)
        async with ProcessChecker(s, 1) as remote:
            d.checker = remote
            await d.dispatch()
            await asyncio.wait_for(stats.first.wait(), BOUND)  # the old check is held
            repo.more = 1
            await d.dispatch()  # its lease ran out: claimed again (lease 2)
            await asyncio.wait_for(stats.second.wait(), BOUND)
            for old in stats.held:  # the old request, if it is still there, answers now
                old.answer(500)
            await asyncio.wait_for(done.wait(), BOUND)
            for _ in range(5):  # a late answer would be handed on by now
                await asyncio.sleep(0)
    assert stats.hits["/a"] == 2
    assert stats.peak["/a"] == 1  # never the old request beside the new one
    [(claim, result)] = finished
    assert claim.lease == 2 and result.http_status == 200  # the new check's own result


async def test_a_replacement_that_cannot_start_fails_its_checks_and_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check queued for a process that could not be started (EAGAIN, ENOMEM)
    fails (the dispatcher tries it once more) instead of waiting for ever."""
    monkeypatch.setattr(checkers, "RESTART_DELAY", 0.0)
    r = web.RouteTableDef()

    @r.get("/ok")
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="<html><title>t</title></html>", content_type="text/html")

    async with app_server(r) as srv:
        s = settings({"a.example": srv.port}, timeout=BOUND)
        async with ProcessChecker(s, 1) as remote:
            pool = remote._pool
            assert pool is not None
            start = pool.start_worker
            tried = asyncio.Event()
            queued: list[asyncio.Future[CheckResult]] = []

            async def cannot_start_once() -> Any:
                if not tried.is_set():
                    tried.set()
                    future = remote.submit("http://a.example/ok", Kind.WEB)
                    assert future is not None
                    queued.append(future)  # waits for this process
                    raise OSError(11, "Resource temporarily unavailable")
                return await start()

            monkeypatch.setattr(pool, "start_worker", cannot_start_once)
            transport = pool.channels[0].transport
            assert transport is not None
            os.kill(transport.get_pid(), signal.SIGKILL)
            await asyncio.wait_for(tried.wait(), BOUND)
            with pytest.raises(CheckerGone, match="could be started"):
                await asyncio.wait_for(queued[0], BOUND)
            again = await asyncio.wait_for(remote.check("http://a.example/ok", Kind.WEB), BOUND)
    assert again.outcome is Outcome.OK
