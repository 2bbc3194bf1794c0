"""A write(2) that takes none of the bytes (a broken FUSE file system or driver).
A real descriptor cannot be made to do it, so the write is faked; it is bounded,
because the loop under test may spin for ever."""

from __future__ import annotations

LIMIT = 100


class TakesNothing:
    """Stands in for os.write or WholeWrites._write_once: returns 0, counts `calls`."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: object) -> int:
        self.calls += 1
        if self.calls > LIMIT:  # the old loops never ended; the test must
            raise AssertionError(f"still writing after {LIMIT} zero-length writes")
        return 0
