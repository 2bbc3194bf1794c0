"""One-timer deadlines behave as asyncio.timeout does, to within a tick.

A block meant to end inside its deadline gets one far beyond any stall of a
loaded machine (LIVE_S): the tick reads the real clock, and a deadline a few
ticks away was reached by a worker held off the CPU for 40 ms (a block that
slept 10 ms "timed out"). Which blocks run past their deadline is decided by
what they await, never by how close the two are."""

from __future__ import annotations

import asyncio

import pytest

from monitor.http.deadlines import Deadlines

LIVE_S = 60  # a deadline not reached during the test: no stall is this long


async def test_a_block_past_its_deadline_raises_timeout_error() -> None:
    deadlines = Deadlines(tick=0.01)
    with pytest.raises(TimeoutError):  # the 5 s sleep would end without one: the deadline fired
        async with deadlines.within(0.05):
            await asyncio.sleep(5)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # nothing left to cancel us later
    await asyncio.sleep(0)  # and no stray cancellation arrives
    deadlines.close()


async def test_a_block_within_its_deadline_is_left_alone() -> None:
    deadlines = Deadlines(tick=0.01)
    async with deadlines.within(LIVE_S):
        await asyncio.sleep(0.03)  # three ticks look at it and leave it
    await asyncio.sleep(0.05)  # ticks after the block: nothing is cancelled
    assert not deadlines._due and not deadlines._expired
    assert deadlines._handle is None  # the tick stops when nothing is due


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    deadlines = Deadlines(tick=0.01)
    outcome: list[str] = []

    async def hop() -> None:
        try:
            async with deadlines.within(LIVE_S):
                await asyncio.sleep(5)
        except TimeoutError:
            outcome.append("timeout")
            raise

    task = asyncio.create_task(hop())
    await asyncio.sleep(0.02)  # the ticks look at it and leave it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == []
    deadlines.close()


async def test_a_cancellation_racing_the_deadline_is_not_swallowed() -> None:
    deadlines = Deadlines(tick=60)  # the tick is fired by hand below

    async def hop() -> None:
        async with deadlines.within(0.01):
            await asyncio.sleep(5)

    task = asyncio.create_task(hop())
    await asyncio.sleep(0.03)  # inside the block, past its deadline
    deadlines._check(asyncio.get_running_loop())  # the tick cancels it...
    task.cancel()  # ...and someone else does too, before it runs again
    with pytest.raises(asyncio.CancelledError):
        await task
    deadlines.close()


async def test_many_blocks_share_one_tick() -> None:
    deadlines = Deadlines(tick=0.01)
    results: list[str] = []

    async def hop(seconds: float, sleep: float) -> None:
        try:
            async with deadlines.within(seconds):
                await asyncio.sleep(sleep)
            results.append("done")
        except TimeoutError:
            results.append("timeout")

    # the tick that finds half of them late finds the other half still running
    await asyncio.gather(*(hop(LIVE_S, 0.1) if i % 2 else hop(0.05, 5) for i in range(50)))
    assert sorted(results) == ["done"] * 25 + ["timeout"] * 25
    deadlines.close()


async def test_a_plain_with_block_times_out_as_async_with_does() -> None:
    """The engine enters deadlines with a plain `with` (no coroutines per request)."""
    deadlines = Deadlines(tick=0.01)
    with pytest.raises(TimeoutError):
        with deadlines.within(0.05):
            await asyncio.sleep(5)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    with deadlines.within(LIVE_S):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.03)
    assert not deadlines._due and not deadlines._expired
    deadlines.close()


async def test_a_plain_with_block_keeps_an_outside_cancellation() -> None:
    deadlines = Deadlines(tick=0.01)
    outcome: list[str] = []

    async def hop() -> None:
        try:
            with deadlines.within(LIVE_S):
                await asyncio.sleep(5)
        except TimeoutError:
            outcome.append("timeout")
            raise

    task = asyncio.create_task(hop())
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == []
    deadlines.close()
