"""A --config that names a huge file (a log, a database dump, by a slip of the
shell's completion) was read whole, then decoded whole: 425 MB of memory for a
200 MB file before any error, and a file of some GB killed the command. A config
file is now read up to CONFIG_FILE_CAP and refused beyond it, saying so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.cli import run_cli

from monitor.config_sources import CONFIG_FILE_CAP


@pytest.mark.parametrize("command", [("config", "show"), ("status",), ("check", "--offline")])
def test_a_config_file_past_the_cap_is_refused_unread(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = tmp_path / "am.toml"
    config.write_text("timeout = 5\n# " + "x" * (CONFIG_FILE_CAP - 14) + "\n")
    assert config.stat().st_size == CONFIG_FILE_CAP + 1
    done = run_cli(*command, "--config", config, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert f"larger than {CONFIG_FILE_CAP} bytes" in done.stderr, done.stderr
    with config.open("r+b") as f:  # sparse, 8 GiB: read whole, it killed the command
        os.truncate(f.fileno(), 8 << 30)
    done = run_cli(*command, "--config", config, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "larger than" in done.stderr, done.stderr


def test_a_config_file_at_the_cap_is_read(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("timeout = 5\n# " + "x" * (CONFIG_FILE_CAP - 15) + "\n")
    assert config.stat().st_size == CONFIG_FILE_CAP
    done = run_cli("config", "show", "--config", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"timeout": 5.0' in done.stdout
