"""bench/purge_first_run.py still runs on a tiny workload (figures never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_purge_first_run_reports_its_transactions() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "purge_first_run.py"), "3", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "deleted=30 transactions=1 " in out.stdout
    assert "longest_cpu_s=" in out.stdout
