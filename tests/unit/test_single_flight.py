"""`SingleFlight`: concurrent callers share one computation; a failure is
not reused; a caller that goes away does not cancel the others' answer."""

from __future__ import annotations

import asyncio

import pytest

from monitor.observe.guard import SingleFlight


async def test_concurrent_callers_share_one_computation() -> None:
    gate = asyncio.Event()

    async def compute() -> int:
        await gate.wait()
        return 7

    flight = SingleFlight(compute)
    waiters = [asyncio.create_task(flight.get()) for _ in range(10)]
    await asyncio.sleep(0)
    waiters[0].cancel()  # one caller leaves
    gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert results == [7] * 9 and flight.computed == 1
    assert await flight.get() == 7 and flight.computed == 2  # ttl 0: computed again


async def test_a_failure_is_not_reused() -> None:
    outcomes: list[Exception | int] = [ValueError("down"), 3]

    async def compute() -> int:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    flight = SingleFlight(compute, ttl=3600)
    with pytest.raises(ValueError):
        await flight.get()
    assert await flight.get() == 3
    assert await flight.get() == 3 and flight.computed == 2  # within the ttl: reused
