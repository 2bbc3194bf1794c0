"""`status` and `history` read a database in a folder they cannot write (session 16,
G2): a read-only mount, a 0555 folder, another user's data directory. SQLite reads
a WAL file with a -shm beside it, made by the first reader; with no daemon running
(none keeps one) they could not make it and said "cannot write … its directory must
be writable", though they only read. A write-ahead log holding commits the file
lacks (a daemon stopped uncleanly) cannot be read so: an error saying what to do,
never the file read without them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.cli import run_cli

DB = "article-monitor.db"
ARTICLE = '---\nwebUrl: "http://news.test/a/"\ntitle: "t"\n---\n'
OFFLINE = ("--listen", "127.0.0.1:0", "--connect-to", "::127.0.0.1:1")  # nothing leaves


def cli(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


READERS = [("status", "--format", "json"), ("history", "http://news.test/a/", "--format", "json")]


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """No file can be made in `folder` by this process: chmod 0555 for a user; for
    root, whom permissions do not stop, the immutable attribute."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", folder], capture_output=True).returncode:
        pytest.skip("root without a working chattr: cannot make a read-only folder")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", folder], check=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose database holds one article's target, its daemon stopped:
    one `run --once` for the file's tests, each reading its own copy."""
    root = tmp_path_factory.mktemp("recorded")
    data = root / "data"
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLE)
    done = cli(root, "run", corpus, "--once", "--data-dir", data, *OFFLINE)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in data.iterdir()) == [DB]  # a clean stop: no -wal, no -shm
    return data


@pytest.fixture
def recorded(made: Path, tmp_path: Path) -> Path:
    """A copy of `made` in the test's own folder (the file alone: the daemon left no
    -wal or -shm)."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(made / DB, data / DB)
    return data


def read(data: Path, *command: str) -> subprocess.CompletedProcess[str]:
    out = cli(data.parent, *command, "--data-dir", data)
    assert "Traceback" not in out.stderr, out.stderr
    return out


@pytest.mark.parametrize("command", READERS)
def test_a_database_in_a_read_only_folder_is_read(recorded: Path, command: tuple[str, ...]) -> None:
    data = recorded
    before = read(data, *command)
    assert before.returncode == 0, before.stderr
    with read_only_folder(data):
        out = read(data, *command)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == json.loads(before.stdout)
        assert sorted(p.name for p in data.iterdir()) == [DB]


@pytest.mark.parametrize("command", READERS)
def test_a_log_with_commits_the_file_lacks_is_an_error_saying_what_to_do(
    tmp_path: Path, recorded: Path, command: tuple[str, ...]
) -> None:
    data = recorded
    db = data / DB
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE targets SET url = url")  # a commit, in the -wal only
    # a daemon killed: its -wal stays; the -shm (gone with a reboot, or never copied)
    shutil.copy(db, tmp_path / "file-only.db")
    shutil.copy(data / f"{DB}-wal", tmp_path / "wal")
    writer.close()
    for name in (DB, f"{DB}-wal", f"{DB}-shm"):
        (data / name).unlink(missing_ok=True)
    shutil.copy(tmp_path / "file-only.db", db)
    shutil.copy(tmp_path / "wal", data / f"{DB}-wal")
    with read_only_folder(data):
        out = read(data, *command)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"Error: cannot read {db}: {DB}-wal beside it holds "), out.stderr
    assert "copy article-monitor.db and article-monitor.db-wal together" in out.stderr
    assert out.stdout == ""
