"""`article-monitor history 99…9`, a run of ASCII digits longer than 4,300
(`int()`'s limit on converting text, CPython 3.11): `str.isdigit` let it
through to `int()`, whose ValueError was a traceback and exit 70. Such a
number is an id no target has: the ordinary "no target matches", exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

from daemon_harness import CLI
from support.upgraded import migrated_db

HUGE = "9" * 5000  # past int()'s 4,300 digits


def test_history_of_a_number_past_int_limit_is_no_match(tmp_path: Path) -> None:
    data = tmp_path / "data"
    migrated_db(data / "article-monitor.db")  # a copy of one migrated per worker
    done = subprocess.run(
        [CLI, "history", HUGE, "--data-dir", data, "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "no target or article matches" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
