"""A corpus scan that fails for a lasting database error (here a table dropped under
the running daemon: real SQLite, "no such table") is the scan's error, in readiness
and the log, and is not retried before the next rescan; a passing one (a lock, a
full disk) still is (test_daemon_database_errors, test_rescan_lasting_errors)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from test_daemon_database_errors import daemon_for, site  # noqa: F401 (a fixture)


async def test_a_table_dropped_under_the_daemon_is_reported_not_retried(
    tmp_path: Path,
    site: int,  # noqa: F811
) -> None:
    daemon = daemon_for(tmp_path, site, rescan_interval=0.05)
    running = asyncio.create_task(daemon.run())
    try:
        for _ in range(1000):  # bounded: the first scan ends within a few ticks
            if daemon.scheduler is not None and daemon.last_scan is not None:
                break
            await asyncio.sleep(0.01)
        assert daemon.last_scan is not None
        path = daemon.repo.engine.url.database
        assert path is not None
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE documents")
        for _ in range(1000):
            if daemon.scan_error is not None:
                break
            await asyncio.sleep(0.01)
        assert daemon.scan_error is not None and "no such table" in daemon.scan_error
        assert daemon.scan_retry._pending is None  # no retry waiting for its second
        assert daemon.scan_retry.tries == 0
        ready, detail = await daemon.readiness()
        assert not ready and "no such table" in detail["scan"], detail
    finally:
        daemon.stop()
        await asyncio.wait_for(running, 30)
