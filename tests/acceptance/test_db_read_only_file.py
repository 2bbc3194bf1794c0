"""A database file that can be read but not written stops the daemon at the door
(hostile review of the database's life): in a writable directory, SQLite opens
it read-only, the daemon started, and then every heartbeat, corpus scan and
result write failed (`run --once` exit 1, `run` logging errors for ever).
`status` and `history` only read: they still answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from daemon_harness import article, offline_cli

DB = "article-monitor.db"


cli = offline_cli


@contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """`path` cannot be written by this process: chmod for a user; for root, whom
    permissions do not stop, the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", path], capture_output=True).returncode:
        pytest.skip("root without a working chattr: cannot make a read-only file")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", path], check=True)


@pytest.mark.parametrize("command", [("run", "--once"), ("run",)])
def test_a_read_only_database_file_is_refused_by_the_daemon(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    data = tmp_path / "data"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(article("http://news.test/a/"))
    assert cli("run", corpus, "--once", "--data-dir", data).returncode == 0
    with read_only_file(data / DB):
        out = cli(*command, corpus, "--data-dir", data)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        error = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
        assert len(error) == 1 and "cannot write" in error[0], out.stderr
        for reading in (("status",), ("history", "http://news.test/a/")):
            assert cli(*reading, "--data-dir", data).returncode == 0
