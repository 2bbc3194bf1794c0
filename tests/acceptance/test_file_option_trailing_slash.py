"""A file option given a name ending in `/` (`keygen --out keys/`, `check -o
reports/`): the slash names a folder, and `Path` dropped it, so the key was
written to a file `keys` and the report to a file `reports`, in the current
folder, saying `wrote keys`. Refused (exit 2), nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus


@pytest.mark.parametrize("command", ["keygen", "check"])
def test_a_file_option_ending_in_a_slash_is_refused(tmp_path: Path, command: str) -> None:
    args = ["keygen", "--out", "keys/"]
    if command == "check":
        args = ["check", str(one_article_corpus(tmp_path)), "--offline", "-o", "keys/"]
    out = subprocess.run([CLI, *args], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "ends with '/', which names a folder" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "keys").exists()
