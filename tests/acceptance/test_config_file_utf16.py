"""A config file saved as UTF-16 (Windows Notepad's "Unicode", with its byte
order mark) was refused as `invalid TOML: 'utf-8' codec can't decode byte
0xff in position 0`, which says nothing of what to do. It is said as UTF-16,
with the fix (save it as UTF-8); exit 2 as before."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_config_file_is_said_as_such(tmp_path: Path, encoding: str) -> None:
    config = tmp_path / "monitor.toml"
    text = "per_host = 2\n"
    # "utf-16" writes a byte order mark; "utf-16-be" does not, so one is put first
    bom = "" if encoding == "utf-16" else "\ufeff"
    config.write_bytes((bom + text).encode(encoding))
    out = subprocess.run(
        [CLI, "config", "show", "--config", config],
        capture_output=True,
        text=True,
        env=user_env(),
    )
    assert out.returncode == 2, out.stdout
    assert "the file is UTF-16" in out.stderr and "save it as UTF-8" in out.stderr
    assert "Traceback" not in out.stderr
