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
