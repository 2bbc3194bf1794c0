"""A Ctrl-C while `check` reads a corpus of nothing but broken records lands at
once: the reader yielded only valid articles, so the loop never had a turn and
the signal was seen once the whole corpus was read (1M lines: ~6 s), with every
one of its invalid documents listed. Now the report is cut short where the
signal came: incomplete, exit 130, fewer invalid documents than the file holds."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env

LINES = 2_000_000
BOUND = 120  # seconds: a bound on a hang, never a timing


def _read_so_far(pid: int, path: Path) -> int:
    """How far the process has read `path`: the offset of its descriptor on it."""
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            if Path(fd).resolve() == path.resolve():
                text = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                return next(int(x.split()[1]) for x in text.splitlines() if x.startswith("pos:"))
    except (OSError, StopIteration, ValueError):
        pass
    return 0


@pytest.mark.parametrize("mode", [["--offline"], []], ids=["offline", "networked"])
def test_a_ctrl_c_while_reading_garbage_cuts_the_report_short(
    tmp_path: Path, mode: list[str]
) -> None:
    source = tmp_path / "garbage.jsonl"
    source.write_text("".join(f"not json {n}\n" for n in range(LINES)))
    size = source.stat().st_size
    with (tmp_path / "report.json").open("w") as out:
        proc = subprocess.Popen(
            [CLI, "check", str(source), *mode, "--format", "json"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=user_env(),
        )
        try:
            deadline = time.monotonic() + BOUND
            while _read_so_far(proc.pid, source) < size // 20 and proc.poll() is None:
                assert time.monotonic() < deadline, "the corpus was never read"
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["incomplete"] is True
    listed = len(report["invalid_documents"])
    assert 0 < listed < LINES, listed  # cut where the signal came, not after the whole read
    assert [d["line"] for d in report["invalid_documents"][:3]] == [1, 2, 3]
