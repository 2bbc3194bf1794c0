"""A checker process whose standard error cannot be written (`check --workers N
2>/dev/full`, a log file on a full disk, a journal that is gone) keeps its own
exit status: its line-buffered stderr (worker.logs_out) held the record it
could not write, the interpreter's flush at exit failed on it again and the
status became 120, which the parent reads as a failed worker (the run's checks
left out of the report, the daemon's failed and the process replaced)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LOGS_THEN_ENDS = """
import logging
from monitor.check import worker

real = worker.serve

async def serve(*args, **kwargs):
    logging.getLogger("monitor").warning("a record that the full disk cannot take")
    await real(*args, **kwargs)

worker.serve = serve
worker.main()
"""

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


def _env(unbuffered: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:  # as the container image sets it
        env["PYTHONUNBUFFERED"] = "1"
    return env


def _status_with_stderr_full(args: list[str], stdin: Path, unbuffered: bool) -> int:
    """The exit status of `python ARGS` reading `stdin`, its stderr on /dev/full."""
    with stdin.open("rb") as given, open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, *args],
            stdin=given,
            stdout=subprocess.DEVNULL,
            stderr=full,
            env=_env(unbuffered),
            timeout=60,
            check=False,
        )
    return done.returncode


@needs_dev_full
@pytest.mark.parametrize("unbuffered", [True, False])
def test_a_worker_that_logged_to_a_full_disk_still_exits_0(unbuffered: bool) -> None:
    assert _status_with_stderr_full(["-c", LOGS_THEN_ENDS], Path(os.devnull), unbuffered) == 0


@needs_dev_full
@pytest.mark.parametrize("unbuffered", [True, False])
def test_a_worker_refusing_bad_input_exits_1_with_stderr_full(
    tmp_path: Path, unbuffered: bool
) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a frame of the format")
    assert _status_with_stderr_full(["-m", "monitor.check.worker"], garbage, unbuffered) == 1
