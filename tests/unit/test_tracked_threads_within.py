"""`TrackedThreads.run(within=)`: a statement of the stop given up on after its
bound (the cluster's leave) is left behind, as `ended` leaves one: the stop's
last wait for database work does not wait for it a second time, and its end
is still seen (the writer's turn, held until the thread ends, is given back).
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from monitor.daemon.tracked_threads import TrackedThreads

HANG = 600.0  # longer than any run of this test: a wait this long is a hang


async def test_a_thread_given_up_on_is_not_waited_for_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads, turn = TrackedThreads(), asyncio.Semaphore(1)
    gate = threading.Event()
    try:
        with pytest.raises(TimeoutError):
            await threads.run(gate.wait, HANG, name="cluster leave", slots=turn, within=0.05)
        caplog.set_level(logging.WARNING)
        # bounded by the test, not by `ended`'s own wait: before, this waited HANG
        assert await asyncio.wait_for(threads.ended(HANG), 60) is False
        assert [r for r in caplog.records if "still under way" in r.getMessage()] == []
        assert turn.locked()  # the thread runs on, and holds its turn
        gate.set()
        async with asyncio.timeout(60):
            await turn.acquire()  # given back once the thread ended
        assert await threads.ended(HANG) is True
    finally:
        gate.set()


async def test_a_wait_for_the_turn_counts_within_the_bound() -> None:
    threads, turn = TrackedThreads(), asyncio.Semaphore(1)
    gate = threading.Event()
    ran: list[str] = []
    holder = asyncio.create_task(threads.run(gate.wait, HANG, name="db-writer", slots=turn))
    try:
        for _ in range(20):
            await asyncio.sleep(0)
        with pytest.raises(TimeoutError):
            await threads.run(ran.append, "late", name="cluster leave", slots=turn, within=0.05)
        gate.set()
        await asyncio.wait_for(holder, 60)
        assert ran == []  # given up on before its turn came: it never started
    finally:
        gate.set()
        await threads.ended(60)
