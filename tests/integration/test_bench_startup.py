"""bench/startup.py still runs end to end (loopback only); its figures are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_startup_runs_each_tree_and_reports_its_cpu() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "startup.py"),
            "--rounds",
            "1",
            "--against",
            f"same={ROOT}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert ": exit " not in out.stdout  # every `check` ended with 0 or 1
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["installed", "same"]
    assert all(float(row[1]) > 0 for row in rows)
