"""bench/status_api.py still runs end to end on a tiny database (figures never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_status_api_bench_runs_every_case() -> None:
    out = subprocess.run(
        [sys.executable, "bench/status_api.py", "--targets", "3000", "--repeat", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "3,000 targets, 150 down" in out.stdout
    rows = [
        line
        for line in out.stdout.splitlines()
        if line.startswith(("state=", "q=", "all", "problem", "page", "/api"))
    ]
    assert len(rows) == 12, out.stdout
    for row in rows:
        assert len(row.split()[-4:]) == 4
