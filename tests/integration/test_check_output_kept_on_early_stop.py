"""`check -o FILE` stopped before its report's first byte keeps what FILE held.

FILE was opened as open() does, emptied at once, before the run was armed: a
SIGTERM in that window (rich's import for `--format table` made it ~25 ms)
exited 130 saying no report was written, with FILE already empty, the last
run's report lost. FILE is now emptied at the report's first write. Each case
runs the CLI's `main` in a subprocess with the signal landed by a patch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"

# the signal lands once FILE is open and the writer is being made, before `arm`
SCRIPT = textwrap.dedent(
    """
    import signal, sys
    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    from monitor.cli import check

    made = check.make_writer

    def make_writer(fmt, out):
        signal.raise_signal(signal.SIGTERM)
        return made(fmt, out)

    check.make_writer = make_writer
    monitor.cli.main()
    """
)

OLD = '{"version": 1, "the": "last run\\u0027s report"}\n'


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_stop_before_the_report_leaves_the_file_as_it_was(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "report.out"
    out.write_text(OLD)
    args = ["check", str(EXAMPLES), "--offline", "--format", fmt, "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGTERM)" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert out.read_text() == OLD
    assert os.listdir(tmp_path) == ["report.out"]  # no temporary file left


def test_a_report_replaces_a_longer_file_whole(tmp_path: Path) -> None:
    """Emptied at the first write, not left to be overwritten in place: a
    shorter report over a longer file leaves no tail of the old one."""
    out = tmp_path / "report.json"
    out.write_text("x" * 1_000_000)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check", str(EXAMPLES), "--offline", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(out.read_text())["summary"]["articles"] > 0


def test_a_missing_file_is_created(tmp_path: Path) -> None:
    out = tmp_path / "new.json"
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check", str(EXAMPLES), "--offline", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(out.read_text())["summary"]["articles"] > 0
