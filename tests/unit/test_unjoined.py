"""unjoined: blocking work whose thread a stop does not wait for (daemon/unjoined.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from monitor.daemon.unjoined import unjoined


async def test_gives_the_result_and_the_exception_as_to_thread_does() -> None:
    assert await unjoined(pow, 2, 10) == 1024
    with pytest.raises(ZeroDivisionError):
        await unjoined(divmod, 1, 0)


async def test_a_cancel_goes_on_at_once_and_the_thread_is_a_daemon() -> None:
    release = threading.Event()
    seen: list[threading.Thread] = []

    def held() -> None:
        seen.append(threading.current_thread())
        release.wait(60)  # bounded: released below

    task = asyncio.create_task(unjoined(held, name="held"))
    for _ in range(2000):  # bounded: until the thread runs
        if seen:
            break
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # not joined: the thread is still held
    assert seen[0].daemon and seen[0].is_alive()
    release.set()
    seen[0].join(10)
    await asyncio.sleep(0)  # its late result is dropped without an error
    assert not seen[0].is_alive()
