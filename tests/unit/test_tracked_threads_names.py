"""The stop's one warning names each kind of work it left behind once, with its
count: on a database that stopped answering every probe's ping (one every
READY_TTL, each given up on after PING_TIMEOUT) left a thread, and the warning
listed "readiness-ping" once per thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from monitor.daemon.tracked_threads import TrackedThreads

HANG = 600.0  # longer than any run of this test: a wait this long is a hang


async def test_a_name_left_behind_several_times_is_said_once_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads, gate = TrackedThreads(), threading.Event()
    names = ["readiness-ping", "status-read", "readiness-ping", "readiness-ping"]
    runs = [asyncio.create_task(threads.run(gate.wait, HANG, name=n)) for n in names]
    try:
        for _ in range(20):  # each thread started
            await asyncio.sleep(0)
        assert await threads.ended(0.01) is False
        caplog.set_level(logging.WARNING)
        threads.name_left()
        left = [r.getMessage() for r in caplog.records if "still under way" in r.getMessage()]
        # before: "(readiness-ping, readiness-ping, readiness-ping, status-read)"
        assert len(left) == 1 and "(readiness-ping x3, status-read)" in left[0], left
    finally:
        gate.set()
        await asyncio.wait_for(asyncio.gather(*runs), 60)
