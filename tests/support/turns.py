"""Threads for the write-turn tests (monitor/storage/turns.py): a bounded wait for
another thread to get somewhere, and a holder of the turn until released."""

from __future__ import annotations

import threading
from collections.abc import Callable

from monitor.storage.turns import WriteTurns


def until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to get somewhere (bounded: 10 s)."""
    for _ in range(10_000):
        if condition():
            return
        threading.Event().wait(0.001)
    raise AssertionError("the other thread never got there")


def holding(turns: WriteTurns, release: threading.Event) -> threading.Thread:
    """A started thread that holds the turn until `release` is set (it holds it on return)."""

    def hold() -> None:
        with turns.turn():
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    until(lambda: turns._owner is not None)
    return holder
