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

    threading.Thread(target=body, name=name, daemon=True).start()


async def unjoined(fn: Callable[..., T], *args: Any, name: str = "unjoined") -> T:
    """`fn(*args)` in a daemon thread; its result or exception, as `to_thread` gives.

    Cancelled, the caller goes on at once; the thread ends with `fn` or with the
    process, whichever comes first."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    settle_from_thread(future, fn, args, name)
    return await future
