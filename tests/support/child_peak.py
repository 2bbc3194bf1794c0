"""The peak resident memory of one command: run as the only child of a fresh
Python process, whose RUSAGE_CHILDREN then holds that command's peak alone (no
other test's child counts). A memory bound, never a timing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# runs the command given (killed after argv[1] seconds), then says its peak RSS
# (KiB) and exit code last on stderr
_PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:], timeout=float(sys.argv[1]), check=False)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"PEAK_KIB {peak} RC {done.returncode}\\n")
"""


@dataclass(frozen=True, slots=True)
class PeakRun:
    code: int
    out: str  # "" when stdout went to a file
    err: str  # the command's stderr, without the peak line
    peak_kib: int

    @property
    def peak_mib(self) -> int:
        return self.peak_kib // 1024


def peak_run(
    argv: Sequence[str | Path],
    *,
    stdout: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> PeakRun:
    """`argv` run to its end (killed after `timeout` seconds); its peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(timeout), *map(str, argv)],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        timeout=timeout + 30,
        check=False,
    )
    head, _, last = done.stderr.rstrip("\n").rpartition("\n")
    if not last.startswith("PEAK_KIB "):
        raise AssertionError(f"no peak reported: {done.stderr[-2000:]}")
    _, peak, _, code = last.split()
    return PeakRun(int(code), done.stdout or "", head, int(peak))
