"""A database whose schema cannot be trusted stops every command at the door with
`Error: …` and exit 2 (hostile review of the database's life): a version table
of two rows was a traceback (exit 70) in `run` and `db upgrade`; a schema at its
head without `check_results` started the daemon, which then failed every write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from daemon_harness import article, offline_cli
from support.upgraded import upgraded_db

DB = "article-monitor.db"


cli = offline_cli


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory whose database is at its head (one `db upgrade`, copied)."""
    folder = tmp_path / "data"
    upgraded_db(folder / DB)
    return folder


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("INSERT INTO alembic_version VALUES ('0008')", "holds 2 rows"),
        ("DELETE FROM alembic_version", "no revision"),
        ("UPDATE alembic_version SET version_num = '0009 '", "'0009 '"),
        ("DROP TABLE check_results", "lacks check_results"),
    ],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("run", "--once")])
def test_a_schema_that_cannot_be_trusted_is_refused(
    tmp_path: Path, data: Path, damage: str, said: str, command: tuple[str, ...]
) -> None:
    with sqlite3.connect(data / DB) as conn:
        conn.execute(damage)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(article("http://news.test/a/"))
    paths = [corpus] if command[0] == "run" else []
    out = cli(*command, *paths, "--data-dir", data)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and said in error[0], out.stderr


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("UPDATE alembic_version SET version_num = '0005'", "older than this"),
        ("UPDATE alembic_version SET version_num = '9999'", "newer than this"),
        ("INSERT INTO alembic_version VALUES ('0008')", "holds 2 rows"),
        ("DROP TABLE check_results", "lacks check_results"),
    ],
)
@pytest.mark.parametrize("command", [("status",), ("history", "http://news.test/a/")])
def test_the_reading_commands_say_what_is_wrong_with_the_schema(
    data: Path, damage: str, said: str, command: tuple[str, ...]
) -> None:
    # history at 0005 failed with `no such column: targets.bucket`, and status showed
    # what it could read of a schema behind, newer or damaged
    with sqlite3.connect(data / DB) as conn:
        conn.execute(damage)
    out = cli(*command, "--data-dir", data)
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith("Error:") and said in out.stderr, out.stderr
    if said == "older than this":
        assert "db upgrade" in out.stderr


def test_the_reading_commands_read_a_schema_at_its_head(data: Path) -> None:
    assert cli("status", "--data-dir", data, "--format", "json").returncode == 0
    out = cli("history", "http://news.test/a/", "--data-dir", data)
    assert out.returncode == 2 and "no target or article matches" in out.stderr  # empty
