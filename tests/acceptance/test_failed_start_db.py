"""A daemon start that fails after making its database (a listen address in use,
a CA bundle that holds no certificate) left an empty database file behind, so a
file appeared from a start that did nothing. The file this start made is removed;
one that was there before is never touched."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import offline_cli, one_article_corpus, query, refused

DB = "article-monitor.db"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _failing_starts(tmp: Path, port: int) -> list[tuple[list[str], str]]:
    bundle = tmp / "bundle.pem"
    bundle.write_text("not a certificate\n")
    return [
        (["--listen", f"127.0.0.1:{port}"], "Address already in use"),
        (["--ca-bundle", str(bundle)], "no PEM certificate"),
    ]


def test_a_failed_start_leaves_no_database_it_made(tmp_path: Path, busy_port: int) -> None:
    corpus = one_article_corpus(tmp_path)
    for i, (args, why) in enumerate(_failing_starts(tmp_path, busy_port)):
        data = tmp_path / f"data{i}"
        refused(offline_cli("run", corpus, "--data-dir", data, *args), why)
        assert not any(data.glob(f"{DB}*")), sorted(p.name for p in data.iterdir())


def test_a_failed_start_leaves_a_database_that_was_there_as_it_was(
    tmp_path: Path, busy_port: int
) -> None:
    corpus = one_article_corpus(tmp_path)
    data = tmp_path / "data"
    first = offline_cli("run", corpus, "--data-dir", data, "--once")
    assert first.returncode == 0, first.stderr
    db = data / DB
    before = db.read_bytes()
    history = query(db, "select count(*) from check_results")
    assert history and history[0][0] >= 1
    for args, why in _failing_starts(tmp_path, busy_port):
        refused(offline_cli("run", corpus, "--data-dir", data, *args), why)
        assert db.read_bytes() == before
    assert query(db, "select count(*) from check_results") == history


def test_a_failed_start_through_a_dangling_symlink_removes_the_file_it_made(
    tmp_path: Path, busy_port: int
) -> None:
    """`--db` names a symlink to a file not made yet: SQLite made it through the
    link, unseen by the start, which left it behind; the link itself stays."""
    corpus = one_article_corpus(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link.db"
    link.symlink_to(real / "target.db")
    for args, why in _failing_starts(tmp_path, busy_port):
        refused(offline_cli("run", corpus, "--db", f"sqlite:///{link}", *args), why)
        assert sorted(p.name for p in real.iterdir()) == []
        assert link.is_symlink()
    made = offline_cli("run", corpus, "--db", f"sqlite:///{link}", "--once")
    assert made.returncode == 0, made.stderr
    assert (real / "target.db").is_file() and link.is_symlink()  # through the link, as asked
