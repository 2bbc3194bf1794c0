"""A rescan that was waiting for the scan in progress when the daemon stopped.

SIGHUP during the first corpus pass queued a full rescan behind it; stopped
meanwhile, the daemon logged "stopped" and then read and stored the whole
corpus again before it exited (seconds for 20,000 records; a supervisor's
kill timeout may come first). A rescan that gets the scan lock after the stop
now does nothing (issue 16's hostile review).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from support.dispatching import daemon_for

from monitor.daemon.scan import ScanReport
from monitor.storage.migrate import upgrade


async def test_a_rescan_queued_behind_the_scan_in_progress_does_not_run_after_the_stop(
    tmp_path: Path,
) -> None:
    daemon = daemon_for(tmp_path)
    entered, gate = threading.Event(), threading.Event()
    scans: list[bool] = []
    real_scan = daemon.scanner.scan

    def scan(*, force: bool = False, **kw: Any) -> ScanReport:
        scans.append(force)
        entered.set()
        gate.wait(30)
        return real_scan(force=force, **kw)

    daemon.scanner.scan = scan  # type: ignore[method-assign]
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        first = asyncio.create_task(daemon.rescan())
        assert await asyncio.to_thread(entered.wait, 30)
        again = asyncio.create_task(daemon.rescan(force=True))  # SIGHUP's: waits for the lock
        await asyncio.sleep(0)
        daemon.stop()
        gate.set()
        await asyncio.wait_for(asyncio.gather(first, again), 30)
        assert scans == [False]
    finally:
        gate.set()
        await daemon.db_threads.ended(30)
        daemon.engine.dispose()
