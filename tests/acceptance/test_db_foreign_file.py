"""A `--db` that names another program's SQLite file (a browser's history, an app's
store): every command refuses it untouched. `db upgrade` and `run` wrote the
monitor's 20-odd tables into it and `status` (a reading command) switched it to
WAL mode, for good, before telling the user to run `db upgrade` on it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from daemon_harness import article, offline_cli


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "places.sqlite"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.com/')")
    conn.close()
    return path


@pytest.mark.parametrize(
    "command", [("db", "upgrade"), ("run", "--once"), ("status",), ("history", "1"), ("cluster",)]
)
def test_another_programs_database_is_refused_and_left_as_it_was(
    tmp_path: Path, foreign: Path, command: tuple[str, ...]
) -> None:
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(article("http://news.test/a/"))
    paths = [corpus] if command[0] == "run" else []
    out = offline_cli(*command, *paths, "--db", f"sqlite:///{foreign}")
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith("Error:") and "moz_places" in out.stderr, out.stderr
    assert "another program" in out.stderr
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "places.sqlite"]


def test_the_monitors_database_with_a_table_of_someone_elses_is_still_used(
    tmp_path: Path,
) -> None:
    """Only a file that holds none of the monitor's tables is another program's."""
    data = tmp_path / "data"
    assert offline_cli("db", "upgrade", "--data-dir", data).returncode == 0
    mine = data / "article-monitor.db"
    with sqlite3.connect(mine) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    out = offline_cli("status", "--data-dir", data, "--format", "json")
    assert out.returncode == 0, out.stderr
