"""Dispatch is work-conserving: a freed slot is filled without waiting for the next tick."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.http import Checker
from monitor.keys import KeyRing
from monitor.storage.migrate import upgrade


def _count(daemon: Daemon, table: str) -> int:
    with daemon.engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_slots_freed_by_finished_checks_are_claimed_again_at_once(tmp_path: Path) -> None:
    """One dispatch (no scheduler ticks at all) with 2 slots and 12 due targets:
    every target gets checked, because each finished check claims again.
    Before, the rest waited for the next tick: `concurrency` checks per tick."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><head><title>A</title></head></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"webUrl": f"http://news.test/{i}"} for i in range(12)]
    (corpus / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "data").mkdir()
    settings = load_settings(
        None,
        {
            "paths": [corpus],
            "data_dir": tmp_path / "data",
            "allow_network": ["127.0.0.0/8"],
            "connect_to": [f"::127.0.0.1:{server.port}"],
            "concurrency": 2,
            "timeout": 10,
            "retries": 0,
        },
        environ={},
    )
    daemon = Daemon(settings, KeyRing.load([]))
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        await daemon.rescan()
        daemon.writer.start()
        async with Checker(settings) as checker:
            daemon._checker = checker
            assert await daemon.dispatch() == 2  # capacity-bound
            async with asyncio.timeout(20):
                while _count(daemon, "check_results") < 12:
                    await daemon.writer.drain()
                    await asyncio.sleep(0.05)
            assert not daemon._inflight
        assert _count(daemon, "leases") == 0
    finally:
        daemon.stop()
        await asyncio.gather(*daemon._bg, return_exceptions=True)
        await daemon.writer.stop()
        daemon._db_pool.shutdown(wait=True)
        daemon.engine.dispose()
        await server.close()
