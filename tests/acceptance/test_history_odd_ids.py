"""`article-monitor history ID` with what looks like an id but is not one a
target can have: a number beyond a BIGINT, digits of other scripts. The user
gets the ordinary "no target matches" usage error, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "data"
    done = subprocess.run(
        [CLI, "db", "upgrade", "--data-dir", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize("query", ["99999999999999999999999", "9223372036854775808", "²", "١٢"])
def test_an_id_no_target_can_have_is_a_usage_error(data_dir: Path, query: str) -> None:
    done = subprocess.run(
        [CLI, "history", query, "--data-dir", str(data_dir), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "no target or article matches" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize("query", [b"https://example.com/caf\xe9", b"\xff\xfe"])
def test_an_argument_that_is_not_utf8_is_a_usage_error(data_dir: Path, query: bytes) -> None:
    """A shell passes bytes: one that is not UTF-8 (a Latin-1 `é` pasted from a log)
    reached the database as a lone surrogate, which no driver can send (exit 70)."""
    done = subprocess.run(
        [CLI.encode(), b"history", query, b"--data-dir", bytes(data_dir), b"--format", b"json"],
        capture_output=True,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert "no target or article matches" in stderr and "not UTF-8" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
