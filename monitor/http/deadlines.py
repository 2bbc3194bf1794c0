"""Deadlines for many concurrent requests on one periodic timer.

`asyncio.timeout` arms a loop timer for every use: a heap push, and a
cancelled handle left in the heap, per request; with 128 requests in flight
the heap work alone was ~3% of a check's CPU. Here a request records its
task and deadline in a dict, and one tick every `TICK_S` cancels the tasks
that are past due; leaving the block turns that cancellation into
`TimeoutError` exactly as `asyncio.timeout` does (the task is uncancelled,
and only a cancellation of ours becomes a timeout: Ctrl-C stays a
cancellation). A deadline fires up to one tick late, which a budget measured
in seconds does not notice.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

TICK_S = 0.05


class Deadlines:
    """`with deadlines.within(seconds): ...` (in a task) raises TimeoutError when
    the block runs past `seconds`. One block at a time per task. Entering and
    leaving await nothing, so a plain `with` serves, without the two coroutines
    per request of `async with` (which works too)."""

    def __init__(self, tick: float = TICK_S) -> None:
        self._tick = tick
        self._due: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._handle: asyncio.TimerHandle | None = None

    def within(self, seconds: float) -> _Within:
        return _Within(self, seconds)

    def close(self) -> None:
        """Stop the tick (the blocks still running then never time out)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._due.clear()

    def _enter(self, task: asyncio.Task[Any], seconds: float) -> None:
        loop = task.get_loop()
        self._due[task] = loop.time() + seconds
        if self._handle is None:
            self._handle = loop.call_later(self._tick, self._check, loop)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        late = [task for task, due in self._due.items() if due <= now]
        for task in late:
            del self._due[task]
            self._expired.add(task)
            task.cancel()
        self._handle = loop.call_later(self._tick, self._check, loop) if self._due else None


class _Within:
    __slots__ = ("_cancelling", "_owner", "_seconds", "_task")

    def __init__(self, owner: Deadlines, seconds: float) -> None:
        self._owner = owner
        self._seconds = seconds

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._owner._enter(task, self._seconds)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        owner, task = self._owner, self._task
        owner._due.pop(task, None)
        if task in owner._expired:
            owner._expired.discard(task)
            if task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
