"""A stop while a scheduled job (checkpoint, maintenance, rescan) is under way.

The scheduler's shutdown cancels its running jobs; a job awaiting its thread
then ended in a CancelledError that apscheduler logged as a job's traceback
at every such stop (seen on a daemon stopped during its WAL checkpoint). The
dispatch job had the fix (dispatch.py); the others now end quietly too.

Their thread's work cannot be cut short: the stop waits for it before the
engine is disposed (test_daemon_stop_db_threads.py), but no longer than the
writer's drain bound, max(shutdown_grace, 1 s); work stuck past it (here held
for good) is left behind, named in the stop's one warning, and the stop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.dispatching import daemon_for

from monitor.daemon import ending
from monitor.storage.migrate import upgrade


@pytest.mark.parametrize("job", ["checkpoint", "maintenance", "rescan"])
async def test_a_job_cancelled_by_the_stop_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, job: str
) -> None:
    daemon = daemon_for(tmp_path)
    daemon.settings = daemon.settings.model_copy(update={"shutdown_grace": 0.0})  # bound: 1 s
    entered, gate, returned = threading.Event(), threading.Event(), threading.Event()

    def blocking(*args: object, **kwargs: object) -> bool:
        entered.set()
        gate.wait(30)
        returned.set()
        return False

    # the job's thread, held until the stop has cancelled the job
    if job == "checkpoint":
        daemon.repo.checkpoint = blocking  # type: ignore[method-assign]
    elif job == "maintenance":
        daemon.membership.maintenance_due = blocking  # type: ignore[method-assign]
    else:
        daemon.scanner.scan = blocking  # type: ignore[method-assign,assignment]
    try:
        await asyncio.to_thread(upgrade, daemon.engine)
        caplog.set_level(logging.WARNING)
        daemon._start_scheduler()
        assert daemon.scheduler is not None
        daemon.scheduler.get_job(job).modify(next_run_time=datetime.now(UTC))
        assert await asyncio.to_thread(entered.wait, 30)
        await daemon._shutdown()  # ends with the job's thread still held
        await ending.last_wait(daemon)  # the stop's last wait, and its one warning
        assert not returned.is_set()
        for _ in range(20):  # the cancelled job's end is reported on later loop turns
            await asyncio.sleep(0)
        gate.set()
        await asyncio.sleep(0.05)
        tracebacks = [r for r in caplog.records if r.exc_info or "raised an exception" in r.message]
        assert tracebacks == []
        left = [r.getMessage() for r in caplog.records if "still under way" in r.getMessage()]
        assert len(left) == 1 and f"({job})" in left[0], left
    finally:
        gate.set()
        await daemon.db_threads.ended(30)
        await daemon.db_threads.ended(30)
        daemon.engine.dispose()
