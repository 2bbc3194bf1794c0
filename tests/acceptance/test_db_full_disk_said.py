"""A full disk under the database, met by a command that opens it: SQLite cannot
grow its shared-memory file (-shm) and calls that SQLITE_IOERR, and `status`,
`history` and `run` said only "disk I/O error", which reads as a failing disk.
The error now says that the disk is full and what to do; `run` exits 75, a
failure a later try may mend (docs/deploy.md, "Restarts")."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_harness import article, offline_cli
from support.fsfaults import fill
from test_daemon_faults import small_fs

__all__ = ["small_fs"]  # the fixture, shared with the other full-disk tests


@pytest.mark.parametrize("command", [("status",), ("history", "1"), ("run", "--once")])
def test_a_full_disk_is_said_to_be_full(
    tmp_path: Path, small_fs: Path, command: tuple[str, ...]
) -> None:
    data = small_fs / "data"
    assert offline_cli("db", "upgrade", "--data-dir", data).returncode == 0
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(article("http://news.test/a/"))
    paths = [corpus] if command[0] == "run" else []
    fill(small_fs)
    out = offline_cli(*command, *paths, "--data-dir", data)
    # `run`: EX_TEMPFAIL, which the unit restarts until space is freed (it was 2)
    assert out.returncode == (75 if command[0] == "run" else 2), out.stderr
    assert "Traceback" not in out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "the disk holding it is full" in error[0], out.stderr
