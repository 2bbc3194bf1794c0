"""A stop during the count of targets that chooses the checker (checker_choice.py)
is bounded like the start's other steps: the count is cut at the stop's bound,
and neither the stop nor `asyncio.run`'s join of its executor waits for it.

The count ran on the loop's executor after the signals were the daemon's,
outside `ending.cut_at_stop`: stuck on a database that stopped answering, it
held the stop until it ended, and `asyncio.run` joined its thread before
returning. The test holds the count's statement and stops the daemon in it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from support.dispatching import daemon_for

BOUND = 60.0  # seconds: a bound on a hang, never a timing
# how long the held count waits for the test; the daemon's run must end first
HOLD = 30.0
COUNT = "SELECT count(*) AS count_1 \nFROM targets \nWHERE targets.active IS NOT NULL"


def test_a_stop_during_the_target_count_does_not_wait_for_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = daemon_for(tmp_path)
    update = {"listen": "127.0.0.1:0", "shutdown_grace": 0.0}  # the stop's bound: 1 s
    daemon.settings = daemon.settings.model_copy(update=update)
    entered, gate, ended = threading.Event(), threading.Event(), threading.Event()

    def hold_count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement == COUNT and not entered.is_set():  # a database that stopped answering
            entered.set()
            gate.wait(HOLD)
            ended.set()

    event.listen(daemon.engine, "before_cursor_execute", hold_count)

    async def stopped_in_the_count() -> int:
        running = asyncio.create_task(daemon.run())
        for _ in range(int(BOUND / 0.05)):
            if entered.is_set() or running.done():
                break
            await asyncio.sleep(0.05)
        assert entered.is_set(), daemon.failure
        daemon.stop()
        return await running

    caplog.set_level(logging.WARNING)
    try:
        # before: returned once the held count ended (HOLD), its thread joined
        assert asyncio.run(stopped_in_the_count()) == 0, daemon.failure
        assert not ended.is_set()  # still held: neither the stop nor the join waited
        left = [r.getMessage() for r in caplog.records if "still under way" in r.getMessage()]
        assert len(left) == 1 and "(target-count)" in left[0], left
    finally:
        gate.set()
        assert ended.wait(BOUND)
        daemon.engine.dispose()
