"""`--data-dir`, `data_dir` or ARTICLE_MONITOR_DATA_DIR naming something that is
not a folder: click's check refused a regular file given as the flag only, so
a FIFO or a device (or a file given in the file or the environment) went on:
`status` said "no database at /dev/null/article-monitor.db (run the daemon
first)", advice that cannot help, and `db upgrade` "cannot create the data
directory …: File exists". Refused as what it is, naming the setting."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env


@pytest.mark.parametrize("command", ["status", "db upgrade"])
@pytest.mark.parametrize("layer", ["flag", "environment"])
def test_a_data_dir_that_is_a_fifo_is_refused(tmp_path: Path, command: str, layer: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = [CLI, *command.split()]
    env = user_env()
    if layer == "flag":
        args += ["--data-dir", str(fifo)]
    else:
        env = user_env(ARTICLE_MONITOR_DATA_DIR=str(fifo))
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "is not a folder" in out.stderr, out.stderr
    assert "run the daemon first" not in out.stderr and "File exists" not in out.stderr


def test_check_which_records_nothing_does_not_look_at_the_data_dir(tmp_path: Path) -> None:
    """Only a command that opens the database asks: `check` (and `verify`, `sign`)
    run in a folder holding a file named `data` (the default data_dir) as before."""
    (tmp_path / "data").write_text("not a folder\n")
    doc = tmp_path / "a.md"
    doc.write_text('---\nwebUrl: "http://news.test/a"\ntitle: "t"\n---\n')
    out = subprocess.run(
        [CLI, "check", doc, "--offline", "--format", "json"],
        capture_output=True,
        text=True,
        env=user_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode in (0, 1), out.stderr
    assert "is not a folder" not in out.stderr
