"""A stop that arrives while a claim is in progress gives the claimed targets back."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from sqlalchemy import text

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.keys import KeyRing
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
    loop = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        queued = _count(daemon, "due_queue")
        assert queued == 2
        gate = threading.Event()
        blocker = loop.run_in_executor(daemon._db_pool, gate.wait)  # the one DB thread is busy
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
        daemon._db_pool.shutdown(wait=True)
        daemon.engine.dispose()


async def test_a_check_that_outlives_its_lease_is_replaced_and_tracked(tmp_path: Path) -> None:
    """Re-claimed mid-check (lease ran out): the old check stops, the new one is
    the one tracked, and once it is recorded no lease is left behind."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from monitor.http import Checker

    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(
            text="<html><head><title>A</title></head></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"webUrl": "http://news.test/a"}) + "\n")
    (tmp_path / "data").mkdir()
    settings = load_settings(
        None,
        {
            "paths": [corpus],
            "data_dir": tmp_path / "data",
            "lease_seconds": 0.3,
            "allow_network": ["127.0.0.0/8"],
            "connect_to": [f"::127.0.0.1:{server.port}"],
            "timeout": 10,
            "retries": 0,
        },
        environ={},
    )
    daemon = Daemon(settings, KeyRing.load([]))
    started: list[asyncio.Task[None]] = []
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        daemon.writer.start()
        async with Checker(settings) as checker:
            daemon._checker = checker
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
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
        await daemon.writer.stop()
        daemon._db_pool.shutdown(wait=True)
        daemon.engine.dispose()
        await server.close()
