"""Output written whole across a stop, in Python's unbuffered mode.

With PYTHONUNBUFFERED=1 (the container image sets it) a standard stream writes
through a raw FileIO: one write(2) per call, its count ignored. A writer
blocked on a full pipe and stopped (Ctrl-Z then `fg`, SIGSTOP, `docker pause`)
returns from write(2) with part of its bytes written, and the rest was
dropped: a checker process's frame arrived torn (the daemon read garbage,
killed the process and lost its 1,024 checks) and a report arrived short.

Each test stops a real child while it is blocked writing to a full pipe (the
test does not read until the pipe is full and the child asleep in write(2)),
continues it, and then reads everything it wrote.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
F_GETPIPE_SZ = 1032
SIZE = 1 << 20  # written in one call: many times a pipe's capacity
PAGE = os.sysconf("SC_PAGE_SIZE")


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _pending(fd: int) -> int:
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder)


def _wait_for(condition: object, what: str) -> None:
    for _ in range(2000):  # bounded: 20 s
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def written_across_stops(code: str, stops: int = 3, *, stderr: bool = False) -> bytes:
    """What a child running `code` (PYTHONUNBUFFERED=1) writes to its stdout (or
    its stderr), with `stops` SIGSTOP/SIGCONT while it is blocked on the full pipe."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    pipes = {"stderr" if stderr else "stdout": subprocess.PIPE}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.DEVNULL,
        env=env,
        **pipes,  # type: ignore[call-overload]
    )
    out = child.stderr if stderr else child.stdout
    assert out is not None
    fd = out.fileno()
    try:
        capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
        for _ in range(stops):
            # full but for the pages a reader left half read or a writer half filled
            _wait_for(lambda: _pending(fd) >= capacity - 2 * PAGE, "the pipe to fill")
            _wait_for(lambda: _state(child.pid) == "S", "the writer to block")
            child.send_signal(signal.SIGSTOP)
            _wait_for(lambda: _state(child.pid) == "T", "the writer to stop")
            child.send_signal(signal.SIGCONT)
            _wait_for(lambda: _state(child.pid) != "T", "the writer to continue")
            # let the pipe drain a little so that the writer blocks again, mid-write
            os.read(fd, capacity // 2)
        rest = out.read()
    finally:
        out.close()
        child.kill()
        child.wait()
    return rest


def expected() -> bytes:
    return b"".join(i.to_bytes(4, "little") for i in range(SIZE // 4))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_checker_process_writes_its_frames_whole_across_a_stop() -> None:
    got = written_across_stops(
        f"""
        from monitor.check.worker import results_out
        out = results_out()
        out.write(b"".join(i.to_bytes(4, "little") for i in range({SIZE // 4})))
        out.flush()
        """
    )
    # the test read (capacity // 2) bytes after each stop: they are not in `got`
    assert expected().endswith(got)
    assert len(expected()) - len(got) == 3 * (fcntl_capacity() // 2)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_cli_writes_a_report_whole_across_a_stop() -> None:
    got = written_across_stops(
        f"""
        import sys
        from monitor.cli.streams import guard_standard_streams
        guard_standard_streams()
        sys.stdout.write("".join(f"{{i:07d}}\\n" for i in range({SIZE // 8})))
        sys.stdout.flush()
        """
    )
    whole = "".join(f"{i:07d}\n" for i in range(SIZE // 8)).encode()
    assert whole.endswith(got)
    assert len(whole) - len(got) == 3 * (fcntl_capacity() // 2)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_checker_process_writes_its_log_records_whole_across_a_stop() -> None:
    """A record longer than a pipe's atomic write (PIPE_BUF: a traceback, say)
    is the one a stop can tear; each is one write, as logging makes it."""
    line = 20_000
    got = written_across_stops(
        f"""
        import logging
        from monitor.check import worker
        worker.main()  # stdin is /dev/null: no settings, so it returns at once
        log = logging.getLogger("monitor.check")
        for i in range({SIZE // line}):
            log.warning("%07d %s", i, "x" * {line})
        """,
        stderr=True,
    )
    whole = "".join(f"{i:07d} {'x' * line}\n" for i in range(SIZE // line)).encode()
    assert whole.endswith(got)  # every record after the bytes the test read is whole
    assert len(whole) - len(got) == 3 * (fcntl_capacity() // 2)


def fcntl_capacity() -> int:
    r, w = os.pipe()
    try:
        return int(fcntl.fcntl(r, F_GETPIPE_SZ))
    finally:
        os.close(r)
        os.close(w)
