"""The daemon's dispatch, driven in process: claims given back on a stop, a
check that outlives its lease, freed slots claimed again at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.http import Checker
from monitor.secured.keys import KeyRing
from monitor.storage.migrate import upgrade


def _count(daemon: Daemon, table: str) -> int:
    with daemon.engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_claims_returning_after_stop_are_released(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {
        "webUrl": "https://news.test/a",
        "title": "A",
        "images": [{"url": "https://img.test/a.png", "width": 1, "height": 1}],
    }
    (corpus / "a.jsonl").write_text(json.dumps(record) + "\n")
    settings = load_settings(None, {"paths": [corpus], "data_dir": tmp_path / "data"}, environ={})
    (tmp_path / "data").mkdir()
    daemon = Daemon(settings, KeyRing.load([]))
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        queued = _count(daemon, "due_queue")
        assert queued == 2
        gate = threading.Event()
        blocker = asyncio.ensure_future(daemon._db(gate.wait))  # the writer's turn is taken
        dispatch = asyncio.create_task(daemon.dispatch())
        await asyncio.sleep(0.1)  # the claim now waits behind the blocker
        daemon.stop()
        gate.set()
        await blocker
        assert await asyncio.wait_for(dispatch, 10) == 0  # nothing was started
        assert daemon._inflight == {}
        assert _count(daemon, "leases") == 0  # given back, not left to expire
        assert _count(daemon, "due_queue") == queued
    finally:
        await daemon.db_threads.ended(30)
        daemon.engine.dispose()


@contextlib.asynccontextmanager
async def _served_daemon(
    tmp_path: Path,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    urls: list[str],
    **settings: Any,
) -> AsyncIterator[Daemon]:
    """A daemon (not started: the test drives it) whose corpus holds `urls`,
    each answered by `handler` on a loopback server, with a Checker in place."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("".join(json.dumps({"webUrl": u}) + "\n" for u in urls))
    (tmp_path / "data").mkdir()
    values = {
        "paths": [corpus],
        "data_dir": tmp_path / "data",
        "allow_network": ["127.0.0.0/8"],
        "connect_to": [f"::127.0.0.1:{server.port}"],
        "timeout": 10,
        "retries": 0,
        **settings,
    }
    daemon = Daemon(load_settings(None, values, environ={}), KeyRing.load([]))
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        daemon.writer.start()
        async with Checker(daemon.settings) as checker:
            daemon._checker = checker
            yield daemon
    finally:
        daemon.stop()
        await asyncio.gather(*daemon._bg, return_exceptions=True)
        await daemon.writer.stop()
        await daemon.db_threads.ended(30)
        daemon.engine.dispose()
        await server.close()


async def _page(request: web.Request) -> web.Response:
    return web.Response(text="<html><head><title>A</title></head></html>", content_type="text/html")


async def test_a_check_that_outlives_its_lease_is_replaced_and_tracked(tmp_path: Path) -> None:
    """Re-claimed mid-check (lease ran out): the old check stops, the new one is
    the one tracked, and once it is recorded no lease is left behind."""
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return await _page(request)

    try:
        async with _served_daemon(
            tmp_path, handler, ["http://news.test/a"], lease_seconds=0.3
        ) as daemon:
            assert await daemon.dispatch() == 1
            ((first, _),) = daemon._inflight.values()
            await asyncio.sleep(0.5)  # the lease runs out while the check waits
            assert await daemon.dispatch() == 1  # claimed again
            ((second, _),) = daemon._inflight.values()
            assert second is not first
            await asyncio.sleep(0.05)
            assert first.cancelled()  # the overrun check was stopped...
            assert [t for t, _ in daemon._inflight.values()] == [second]  # still tracked
            release.set()
            await asyncio.wait_for(second, 10)
            await asyncio.wait_for(daemon.writer.drain(), 10)
            assert _count(daemon, "leases") == 0
            assert _count(daemon, "check_results") == 1
    finally:
        release.set()  # let a stalled handler go, so the server can close


async def test_slots_freed_by_finished_checks_are_claimed_again_at_once(tmp_path: Path) -> None:
    """One dispatch (no scheduler ticks at all) with 2 slots and 12 due targets:
    every target gets checked, because each finished check claims again.
    Before, the rest waited for the next tick: `concurrency` checks per tick."""
    urls = [f"http://news.test/{i}" for i in range(12)]
    async with _served_daemon(tmp_path, _page, urls, concurrency=2) as daemon:
        assert await daemon.dispatch() == 2  # capacity-bound
        async with asyncio.timeout(20):
            while _count(daemon, "check_results") < 12:
                await daemon.writer.drain()
                await asyncio.sleep(0.05)
        assert not daemon._inflight
        assert _count(daemon, "leases") == 0
