"""Memory traced by Python's allocator over a block: one way to start, read and
always stop `tracemalloc`, for the tests that bound a reader's memory. A bound
in bytes, never a timing; native buffers and the C stack are not traced (child
processes are measured by `child_peak`)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(slots=True)
class Traced:
    """What the block allocated: `peak` since tracing began (the block's own
    objects and what they made alive), `grown` the bytes still held at its end."""

    before: int = 0
    peak: int = 0
    grown: int = 0

    def now(self) -> int:
        """Bytes traced right now, above what was held when the block began."""
        return tracemalloc.get_traced_memory()[0] - self.before

    def __str__(self) -> str:
        return f"{self.peak / 1e6:.1f} MB traced at the peak, {self.grown / 1e6:.1f} MB held after"


@contextmanager
def traced() -> Iterator[Traced]:
    """Trace the block; the figures are set when it ends (also when it raises)."""
    tracemalloc.start()
    out = Traced(before=tracemalloc.get_traced_memory()[0])
    try:
        yield out
    finally:
        current, out.peak = tracemalloc.get_traced_memory()
        out.grown = current - out.before
        tracemalloc.stop()
