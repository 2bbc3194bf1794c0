"""A daemon alone (SQLite) with a lease shorter than a check can take is told so
at its start, as a cluster member is: its own claim of a check still under way
runs out, it claims the target again and restarts the check, and on a host
that keeps checks that long none ever finishes (R25)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from daemon_harness import article

ROOT = Path(__file__).resolve().parents[2]


def test_run_says_a_lease_too_short_for_its_checks(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(article("http://127.0.0.1:9/a/"))  # blocked: no request
    env = {
        **os.environ,
        "ARTICLE_MONITOR_CONFIG": "",
        "ARTICLE_MONITOR_LEASE_SECONDS": "2",
        "ARTICLE_MONITOR_TIMEOUT": "5",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "run",
            str(tmp_path / "a.txt"),
            "--once",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = done.stderr
    assert "lease_seconds (2) is not longer than a check can take" in said, said
    assert "is restarted when its lease runs out" in said, said
    assert "cluster:" not in said, said
