"""A call run in a thread of its own, for tests that watch one wait on another
(a lock held by a frozen member, a reader holding a table)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """`call` started in a daemon thread; the list gets its result, or the exception
    it raised, once it ends (join the thread with a bound: a wait may never end)."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except Exception as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out
