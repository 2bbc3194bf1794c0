"""bench/first_start_equal.py: the rows left by a fresh `run --once` on two trees,
compared without what a run stamps (loopback only: the bench simulator)."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "first_start_equal.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("first_start_equal", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _db(path: Path, state: str, checked_at: int) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE targets (id INTEGER PRIMARY KEY, url TEXT, state TEXT, next_due INT)"
    )
    conn.execute(
        "CREATE TABLE check_results (id INTEGER PRIMARY KEY, target_id INT, checked_at INT)"
    )
    conn.execute("INSERT INTO targets VALUES (1, 'http://127.0.0.1/a', ?, ?)", (state, checked_at))
    conn.execute("INSERT INTO check_results VALUES (7, 1, ?)", (checked_at,))
    conn.commit()
    conn.close()
    return path


def test_a_row_differing_in_a_kept_column_is_reported_and_a_stamp_is_not(
    tmp_path: Path,
) -> None:
    bench = _script()
    base = bench.dump(_db(tmp_path / "a.db", "up", 1000))
    later = bench.dump(_db(tmp_path / "b.db", "up", 2000))  # stamped at another time
    down = bench.dump(_db(tmp_path / "c.db", "down", 1000))
    assert not any("DIFFER" in line for line in bench.compare("a", base, "b", later))
    lines = bench.compare("a", base, "c", down)
    assert "targets: DIFFER (a 1 rows, c 1)" in lines
    assert "check_results: 1 rows, equal (a and c)" in lines
    assert "    only c: (1, 'http://127.0.0.1/a', 'down')" in lines


@pytest.mark.slow
def test_one_tree_against_itself_leaves_equal_rows() -> None:
    """Two fresh `run --once` of 20 records (100 targets) on the loopback simulator:
    every table equal; ~10 s (two daemons and the simulator)."""
    out = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--records",
            "20",
            "--tree",
            f"a={ROOT}",
            "--tree",
            f"b={ROOT}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "targets: 100 rows, equal (a and b)" in out.stdout
    assert "check_results: 100 rows, equal (a and b)" in out.stdout
    assert "DIFFER" not in out.stdout
