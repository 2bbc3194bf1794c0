"""Blocking work that a stop does not wait for: a daemon thread, not the loop's executor.

asyncio.run joins the default executor's threads before the process may exit
(and concurrent.futures joins them again at exit), so a SIGTERM during the
start's database check waited for the whole check: minutes for SQLite's
quick_check of a large file, the URL's whole connect timeout for a
PostgreSQL that does not answer; Kubernetes' grace period ran out first (a
SIGKILL). Only for work that reads: left behind at exit, it harms nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def settle_from_thread(
    future: asyncio.Future[T], fn: Callable[..., T], args: tuple[Any, ...], name: str
) -> None:
    """Start `fn(*args)` in a daemon thread that hands its result or exception to
    `future` on the future's loop, as `to_thread` would; a future already done
    (its caller gone) or a loop closed (the run over) takes nothing."""
    loop = future.get_loop()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled: nobody waits for it any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def body() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the caller, as to_thread does
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
            loop.call_soon_threadsafe(settle, result, error)

    start_deaf(threading.Thread(target=body, name=name, daemon=True))


# The process's signals, for its main thread's handlers: a thread left behind at
# the exit took them, at their default action once the interpreter's shutdown had
# put it back (a `run` stopped during its database check, then sent SIGTERM again:
# status 143 after "interrupted", where the main thread held them for the exit).
_DEAF = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}


def start_deaf(thread: threading.Thread) -> None:
    """Start `thread` with the process's signals blocked in it (it inherits this
    thread's mask); this thread's are put back, but for the stop signals if a
    handler held them for the exit meanwhile (interrupt.hold_for_exit)."""
    from monitor.check.interrupt import STOP_SIGNALS, holding_for_exit

    before = signal.pthread_sigmask(signal.SIG_BLOCK, _DEAF)
    try:
        thread.start()
    finally:
        unblock = _DEAF - set(before)
        if holding_for_exit():
            unblock -= set(STOP_SIGNALS)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, unblock)


async def unjoined(fn: Callable[..., T], *args: Any, name: str = "unjoined") -> T:
    """`fn(*args)` in a daemon thread; its result or exception, as `to_thread` gives.

    Cancelled, the caller goes on at once; the thread ends with `fn` or with the
    process, whichever comes first."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    settle_from_thread(future, fn, args, name)
    return await future
