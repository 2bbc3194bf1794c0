"""Per-host politeness: limits, spacing, backoff, eviction (no network)."""

from __future__ import annotations

import asyncio
import itertools
import time

from monitor.http.hostpool import HostPool


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


async def test_minimum_interval_between_starts() -> None:
    pool = HostPool(per_host=5, min_interval=0.05)
    starts: list[float] = []

    async def use() -> None:
        async with pool.slot("a"):
            starts.append(time.monotonic())

    await asyncio.gather(*(use() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.045


async def test_retry_after_delays_the_next_slot_and_success_resets() -> None:
    pool = HostPool(per_host=1, backoff_base=0.01, backoff_max=1.0)
    async with pool.slot("a"):
        pool.record("a", 429, retry_after=0.1)
    assert 0.05 < pool.backoff_remaining("a") <= 0.1
    assert len(pool) == 1  # kept while its backoff runs
    t0 = time.monotonic()
    async with pool.slot("a"):
        pool.record("a", 200)
    assert time.monotonic() - t0 >= 0.09
    async with pool.slot("b"):
        pass
    assert pool.backoff_remaining("b") == 0.0


async def test_adaptive_backoff_doubles_without_retry_after() -> None:
    pool = HostPool(per_host=1, backoff_base=0.01, backoff_max=0.03)
    delays = []
    for _ in range(4):
        async with pool.slot("a"):
            pool.record("a", 503)
            delays.append(pool.backoff_remaining("a"))
    assert delays[0] <= 0.01
    assert 0.015 < delays[1] <= 0.02
    assert all(d <= 0.03 for d in delays)
