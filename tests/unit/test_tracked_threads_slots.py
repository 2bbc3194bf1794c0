"""`TrackedThreads.run(slots=)`: the status reads' bound on threads at once.

A slot is held until its thread ends, not until its caller goes: a request
cut short leaves its read running, and freeing its slot then let more reads
run at once than the bound (each holding a database connection)."""

from __future__ import annotations

import asyncio
import threading

from monitor.daemon.tracked_threads import TrackedThreads


async def test_a_slot_is_held_until_its_thread_ends_not_until_its_caller_goes() -> None:
    threads, slots = TrackedThreads(), asyncio.Semaphore(1)
    entered, gate = threading.Event(), threading.Event()
    ran: list[str] = []

    def held() -> None:
        entered.set()
        gate.wait(30)
        ran.append("held")

    first = asyncio.create_task(threads.run(held, name="read", slots=slots))
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        first.cancel()  # the request cut short; its read runs on
        await asyncio.gather(first, return_exceptions=True)
        second = asyncio.create_task(threads.run(ran.append, "second", name="read", slots=slots))
        for _ in range(20):  # loop turns in which a freed slot would let it start
            await asyncio.sleep(0)
        assert ran == [] and not second.done()
        gate.set()
        await asyncio.wait_for(second, 30)
        assert ran == ["held", "second"]
    finally:
        gate.set()
        await threads.ended(30)


async def test_a_caller_gone_while_waiting_for_a_slot_starts_nothing() -> None:
    threads, slots = TrackedThreads(), asyncio.Semaphore(1)
    gate = threading.Event()
    ran: list[str] = []
    first = asyncio.create_task(threads.run(gate.wait, 30, name="read", slots=slots))
    waiting = asyncio.create_task(threads.run(ran.append, "gone", name="read", slots=slots))
    try:
        for _ in range(20):
            await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        gate.set()
        assert await asyncio.wait_for(first, 30) is True
        await threads.ended(30)
        assert ran == []
    finally:
        gate.set()
        await threads.ended(30)
