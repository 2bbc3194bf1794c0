"""Standard output on a device that takes no bytes (a broken FUSE file or driver:
write(2) returns 0 for a non-empty buffer). The CLI looped on it for ever at full
CPU; the user must read `Error: standard output: …` and get exit 2, as for a
full disk, in Python's buffered and unbuffered modes alike.

A real descriptor cannot be made to take nothing, so the child's stdout is a
WholeWrites whose write(2) is faked; once the CLI has pointed descriptor 1 at
/dev/null (quiet_stdout) the fake writes there, as the device is then no
longer involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import io, os, sys
from monitor.cli.streams import WholeWrites

NULL = os.stat(os.devnull).st_rdev

class TakesNothing(WholeWrites):
    def _write_once(self, view):
        if os.fstat(self.fileno()).st_rdev == NULL:
            return super()._write_once(view)
        return 0

raw = TakesNothing(1, "w", closefd=False)
if {unbuffered}:
    sys.stdout = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
else:
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")
sys.argv = ["article-monitor", "check", "--offline", "--format", "json", {doc!r}]
from monitor.cli import main
main()
"""


@pytest.mark.skipif(not os.path.exists(os.devnull), reason="needs /dev/null")
@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_stdout_that_takes_nothing_is_an_error_not_a_hang(
    tmp_path: Path, unbuffered: bool
) -> None:
    doc = tmp_path / "a.json"
    doc.write_text("[" + ",".join(f'{{"webUrl": "https://n.test/{i}/"}}' for i in range(50)) + "]")
    code = textwrap.dedent(CHILD).format(unbuffered=unbuffered, doc=str(doc))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=env,
        timeout=60,  # the old loop never ended: this is the bound, not a measure
        check=False,
    )
    assert done.stderr.decode() == (
        "Error: standard output: the file took none of the bytes written to it, "
        "3 times in a row (a broken device?)\n"
    )
    assert done.returncode == 2
    assert done.stdout == b""
