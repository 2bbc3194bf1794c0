"""The CLI's standard streams in Python's unbuffered mode (PYTHONUNBUFFERED=1, which
the container image sets), against what the buffered mode already does.

Unbuffered, a report is written by each write call rather than at the final
flush, so a failure of standard output surfaces in the middle of a command
instead of in the flush that names the stream. The user must read the same
`Error: standard output: …` line and get exit 2 in both modes.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(args: list[str], unbuffered: bool, **kw: object) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(ROOT)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "monitor", *args],
        env=env,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
        **kw,
    )


def documents(tmp_path: Path) -> Path:
    doc = tmp_path / "a.json"
    doc.write_text("[" + ",".join(f'{{"webUrl": "https://n.test/{i}/"}}' for i in range(300)) + "]")
    return doc


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("command", [["--version"], ["--help"], ["check", "--offline"]])
def test_a_full_disk_names_standard_output_in_both_modes(
    tmp_path: Path, unbuffered: bool, command: list[str]
) -> None:
    args = (
        [*command, "--format", "json", str(documents(tmp_path))]
        if command[0] == "check"
        else command
    )
    with open("/dev/full", "wb") as full:
        done = cli(args, unbuffered, stdout=full)
    assert done.returncode == 2
    assert done.stderr.decode() == "Error: standard output: No space left on device\n"


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_report_to_a_non_blocking_pipe_is_written_whole(tmp_path: Path, unbuffered: bool) -> None:
    """A parent that set O_NONBLOCK on the pipe it gave as stdout (the flag belongs to
    the pipe's open file, so the child shares it) and reads slowly."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    doc = documents(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(ROOT)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", "--offline", "--format", "json", str(doc)],
        stdout=w,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(w)
    got = bytearray()
    try:
        for _ in range(100_000):  # bounded: small reads until the end
            ready, _, _ = select.select([r], [], [], 30)
            assert ready, "no output for 30 s"
            chunk = os.read(r, 512)
            if not chunk:
                break
            got += chunk
        assert child.wait(timeout=60) == 1  # offline: every document has problems
    finally:
        os.close(r)
        child.kill()
        child.wait()
        assert child.stderr is not None
        err = child.stderr.read()
        child.stderr.close()
    report = json.loads(got)
    assert len(report["articles"]) == 300, err
