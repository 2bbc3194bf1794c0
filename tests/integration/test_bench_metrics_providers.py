"""bench/metrics_providers.py still runs on a tiny workload (its figures are never
asserted: a test is not a benchmark)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_providers_times_a_render() -> None:
    script = str(ROOT / "bench" / "metrics_providers.py")
    out = subprocess.run(
        [sys.executable, script, "--rounds", "1", "--providers", "500"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"^this: median \d+\.\d+ s \(1 rounds\)$", out.stdout, re.M), out.stdout
