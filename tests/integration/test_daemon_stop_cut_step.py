"""A step of the start cut at the stop (ending.cut_at_stop: the clock's sync, the
kept probe answers, the join, a shared corpus's rescan) is given up on with its
thread: the stop's later waits do not wait for that thread again.

Before, the cut step's thread, stuck in its statement, was still "under way"
for the shutdown's wait, which waited for it once more, up to what was left of
the budget: a stop during the kept probe answers' read took the whole budget
(1.5 s at a grace of 0.5 s) where the cut had given it up after the bound (1 s).
It is still named in the stop's one warning.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest
from support.dispatching import daemon_for

from monitor.daemon import ending

HANG = 600.0  # longer than any run of this test: a wait this long is a hang
BOUND = 60.0  # seconds: a bound on a hang, never a timing


async def test_a_step_cut_at_the_stop_is_not_waited_for_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = daemon_for(tmp_path)
    daemon.settings = daemon.settings.model_copy(update={"shutdown_grace": 0.0})  # bound: 1 s
    entered, gate = threading.Event(), threading.Event()

    def stuck() -> None:  # a statement on a database that stopped answering
        entered.set()
        gate.wait(HANG)

    try:
        sync = daemon.db_threads.run(stuck, name="clock-sync")
        step = asyncio.create_task(ending.cut_at_stop(daemon, sync))
        assert await asyncio.to_thread(entered.wait, BOUND)
        daemon.stop()
        await asyncio.wait_for(step, BOUND)  # cut after the bound
        # bounded by the test, not by `ended`'s own wait: before, this waited HANG
        assert await asyncio.wait_for(daemon.db_threads.ended(HANG), BOUND) is False
        caplog.set_level(logging.WARNING)
        daemon.db_threads.name_left()
        left = [r.getMessage() for r in caplog.records if "still under way" in r.getMessage()]
        assert len(left) == 1 and "(clock-sync)" in left[0], left
    finally:
        gate.set()
        await daemon.db_threads.ended(BOUND)
        daemon.engine.dispose()
