"""Per-host politeness: limits, spacing, backoff, eviction (no network)."""

from __future__ import annotations

import asyncio
import itertools
import types

import pytest

from monitor.http import hostpool
from monitor.http.hostpool import HostPool


class FakeTime:
    """The pool's injected clock, and a sleep that advances it instead of waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        real = asyncio.sleep
        proxy = types.ModuleType("asyncio")
        proxy.__dict__.update(vars(asyncio))

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)
            self.now += max(0.0, delay)
            await real(0)

        proxy.sleep = sleep  # type: ignore[attr-defined]
        monkeypatch.setattr(hostpool, "asyncio", proxy)

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    return FakeTime(monkeypatch)


async def test_slots_are_limited_per_host_not_globally() -> None:
    pool = HostPool(per_host=2)
    now = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}

    async def use(host: str) -> None:
        async with pool.slot(host):
            now[host] += 1
            peak[host] = max(peak[host], now[host])
            await asyncio.sleep(0.01)
            now[host] -= 1

    await asyncio.gather(*(use(h) for h in "ab" * 6))
    assert peak == {"a": 2, "b": 2}
    assert len(pool) == 0  # idle, unconstrained gates are dropped


async def test_minimum_interval_between_starts(fake_time: FakeTime) -> None:
    pool = HostPool(per_host=5, min_interval=0.05, clock=fake_time.clock)
    starts: list[float] = []

    async def use() -> None:
        async with pool.slot("a"):
            starts.append(fake_time.clock())

    await asyncio.gather(*(use() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([0.05, 0.05, 0.05])


async def test_retry_after_delays_the_next_slot_and_success_resets(fake_time: FakeTime) -> None:
    pool = HostPool(per_host=1, backoff_base=0.01, backoff_max=1.0, clock=fake_time.clock)
    async with pool.slot("a"):
        pool.record("a", 429, retry_after=0.1)
    assert pool.backoff_remaining("a") == pytest.approx(0.1)
    assert len(pool) == 1  # kept while its backoff runs
    t0 = fake_time.clock()
    async with pool.slot("a"):
        pool.record("a", 200)
    assert fake_time.clock() - t0 == pytest.approx(0.1)  # waited out, no more
    assert fake_time.sleeps == [pytest.approx(0.1)]
    async with pool.slot("b"):
        pass
    assert pool.backoff_remaining("b") == 0.0


async def test_adaptive_backoff_doubles_without_retry_after(fake_time: FakeTime) -> None:
    pool = HostPool(per_host=1, backoff_base=0.01, backoff_max=0.03, clock=fake_time.clock)
    delays = []
    for _ in range(4):
        async with pool.slot("a"):
            pool.record("a", 503)
            delays.append(pool.backoff_remaining("a"))
    assert delays == pytest.approx([0.01, 0.02, 0.03, 0.03])
    assert fake_time.sleeps == pytest.approx([0.01, 0.02, 0.03])  # each one waited out


async def test_waiters_get_slots_in_arrival_order() -> None:
    pool = HostPool(per_host=1)
    order: list[int] = []
    release = asyncio.Event()

    async def use(n: int) -> None:
        async with pool.slot("a"):
            order.append(n)
            if n == 0:
                await release.wait()

    tasks = [asyncio.create_task(use(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert order == [0]  # the other four queue behind the one slot
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert len(pool) == 0


async def test_a_cancelled_waiter_neither_takes_nor_loses_a_slot() -> None:
    pool = HostPool(per_host=1)
    release = asyncio.Event()
    entered: list[str] = []

    async def use(name: str, hold: bool) -> None:
        async with pool.slot("a"):
            entered.append(name)
            if hold:
                await release.wait()

    holder = asyncio.create_task(use("holder", True))
    await asyncio.sleep(0)
    quitter = asyncio.create_task(use("quitter", False))
    later = asyncio.create_task(use("later", False))
    await asyncio.sleep(0.01)
    quitter.cancel()
    release.set()
    await asyncio.gather(holder, later)
    assert quitter.cancelled()
    assert entered == ["holder", "later"]
    async with asyncio.timeout(1):  # the slot came back: a new user gets it at once
        async with pool.slot("a"):
            pass
    assert len(pool) == 0


async def test_a_waiter_cancelled_after_the_handover_passes_the_slot_on() -> None:
    pool = HostPool(per_host=1)
    entered: list[str] = []

    async def use(name: str) -> None:
        async with pool.slot("a"):
            entered.append(name)

    first = pool.slot("a")
    await first.__aenter__()
    second = asyncio.create_task(use("second"))
    third = asyncio.create_task(use("third"))
    await asyncio.sleep(0.01)
    await first.__aexit__(None, None, None)  # hands the slot to `second`...
    second.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(second, third, return_exceptions=True)
    assert entered == ["third"]
    assert len(pool) == 0


async def test_take_now_and_leave_keep_the_limit_as_slot_does() -> None:
    """The engine's path (take_now, else take; then leave) holds the same limit."""
    pool = HostPool(per_host=2)
    first = pool.take_now("a")
    second = pool.take_now("a")
    assert first is not None and second is first
    assert pool.take_now("a") is None  # both slots held
    waiter = asyncio.ensure_future(pool.take("a"))
    await asyncio.sleep(0)
    assert not waiter.done()
    pool.leave("a", first)  # handed to the waiter, in order
    third = await waiter
    pool.leave("a", second)
    pool.leave("a", third)
    assert len(pool) == 0  # idle and unconstrained: forgotten, as after `slot`
