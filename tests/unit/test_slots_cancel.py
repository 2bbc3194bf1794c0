"""Waiters for a slot cancelled in a batch (the daemon cancels many requests in a
checker process at once, issue 16 hostile review): a slot given back before a
cancelled waiter has run skips it (it is done), so the waiter is no longer in
the queue when it runs. It raised ValueError there, which ended the checker
process with a traceback, every time a re-claim storm cancelled its requests."""

from __future__ import annotations

import asyncio

import pytest

from monitor.http.hostpool import HostPool
from monitor.http.slots import Slots


async def turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_waiter_skipped_by_a_give_before_it_ran_is_cancelled_cleanly() -> None:
    slots = Slots(1)
    assert slots.try_take()  # the holder
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await turn()
    assert len(slots.waiters) == 2
    first.cancel()  # its waiter is cancelled now, the task runs later
    slots.give()  # the holder lets go in the same turn: skips `first`, wakes `second`
    with pytest.raises(asyncio.CancelledError):
        await first
    await second  # holds the one slot
    assert slots.free == 0 and not slots.waiters
    slots.give()
    assert slots.free == 1 and not slots.in_use()


async def test_many_waiters_cancelled_at_once_with_slots_given_back_hold_nothing() -> None:
    slots = Slots(2)
    assert slots.try_take() and slots.try_take()
    waiting = [asyncio.create_task(slots.take()) for _ in range(8)]
    await turn()
    for task in waiting[:6]:
        task.cancel()
    slots.give()
    slots.give()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results[:6])
    assert results[6:] == [None, None]  # the two left hold the two slots
    assert slots.free == 0 and not slots.waiters


async def test_a_cancelled_waiter_of_a_forgotten_gate_never_drops_the_hosts_new_gate() -> None:
    """The waiter skipped by a give left its gate idle, and the gate was forgotten;
    requests made a new gate for the host and held its slots. The waiter, running
    then, forgot the host's gate by its name: the new one, in use, so the next
    requests made a third and the host had twice its --per-host (checker
    processes under a re-claim storm: 5 requests at once with --per-host 2)."""
    pool = HostPool(per_host=1)
    holder = pool.take_now("a.test")
    assert holder is not None
    waiting = asyncio.create_task(pool.take("a.test"))
    await turn()
    waiting.cancel()  # runs later: its waiter is cancelled now
    pool.leave("a.test", holder)  # the give skips it: the gate is idle, forgotten
    second = pool.take_now("a.test")  # a new gate, its one slot held
    assert second is not None
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pool.take_now("A.test.") is None  # the host's one slot is held
    pool.leave("a.test", second)
    assert pool.take_now("a.test") is not None
