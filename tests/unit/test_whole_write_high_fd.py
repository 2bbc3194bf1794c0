"""A full non-blocking descriptor numbered 1024 or more is waited for: the wait
used select(2), which refuses such a descriptor (FD_SETSIZE; ValueError), and
a daemon whose descriptor limit is raised (observe/fdlimit.py) has them."""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Iterator

import pytest

from monitor.whole_write import WholeWrites

HIGH = 1024 + 40  # past FD_SETSIZE


@pytest.fixture
def high_pipe() -> Iterator[list[int]]:
    """[read end, non-blocking write end dup'ed to a descriptor >= 1024]; a test
    that closes one removes it (its number may be reused at once)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH + 64:
        pytest.skip(f"the hard limit of descriptors ({hard}) is too low")
    if soft != resource.RLIM_INFINITY and soft <= HIGH + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (HIGH + 64, hard))
    read_end, write_end = os.pipe()
    ends = [read_end, write_end]
    target = next(fd for fd in range(HIGH, HIGH + 64) if not _open(fd))
    try:
        os.dup2(write_end, target, inheritable=False)
        ends.append(target)
        os.close(write_end)
        ends.remove(write_end)
        os.set_blocking(target, False)
        yield ends
    finally:
        for fd in ends:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_a_full_descriptor_past_fd_setsize_is_waited_for(high_pipe: list[int]) -> None:
    read_end, fd = high_pipe
    data = bytes(range(256)) * 4096  # 1 MiB: far more than a pipe holds
    full = threading.Event()  # the write met EAGAIN: the reader starts only then
    got = bytearray()

    def drain() -> None:
        full.wait(timeout=60)
        while chunk := os.read(read_end, 65536):
            got.extend(chunk)

    class Counted(WholeWrites):
        waits = 0

        def _write_once(self, view: memoryview) -> int | None:
            wrote = super()._write_once(view)
            if wrote is None:
                self.waits += 1
                full.set()
            return wrote

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    raw = Counted(fd, "w", closefd=False)
    try:
        assert raw.write(data) == len(data)
    finally:
        full.set()
        high_pipe.remove(fd)
        os.close(fd)  # the reader meets end of file
        reader.join(timeout=60)
    assert not reader.is_alive()
    assert raw.waits >= 1  # it was full, and waited
    assert bytes(got) == data
