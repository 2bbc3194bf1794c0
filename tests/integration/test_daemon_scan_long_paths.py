"""A corpus file whose path is longer than the database can index costs that file
alone, on both databases: on PostgreSQL the unique index on documents.path (and
the index on articles.source) refused it, and the error ended the scan pass, so
every file listed after it was never stored."""

from __future__ import annotations

import logging
import random
import string
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.repository import ARTICLES, Repository


def test_a_path_too_long_to_index_costs_only_its_file(
    repo: Repository, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    rng = random.Random(16)  # names that do not compress, the same every run
    names = ["".join(rng.choice(string.ascii_letters) for _ in range(200)) for _ in range(14)]
    deep = corpus.joinpath(*names)  # ~2.8 KB
    deep.mkdir(parents=True)
    (deep / "a.txt").write_text('---\nwebUrl: "https://a.example.com/deep"\n---\n')
    for name in ("0.txt", "z.txt"):  # listed before and after it
        (corpus / name).write_text(f'---\nwebUrl: "https://a.example.com/{name}"\n---\n')
    scanner = CorpusScanner(repo, Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        report = scanner.scan()
        scanner.scan()  # and again: still no error, still counted once
    with repo.engine.connect() as conn:
        webs = sorted(conn.scalars(select(ARTICLES.c.web_url)))
    assert webs == ["https://a.example.com/0.txt", "https://a.example.com/z.txt"]
    assert report.invalid == 1
    assert "too long" in caplog.text


def test_a_document_the_database_refuses_costs_only_that_document(
    repo: Repository,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any record the database refuses (a data or constraint error, not a database
    that is down) costs its document, not the rest of the pass."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (corpus / name).write_text(f'---\nwebUrl: "https://a.example.com/{name}"\n---\n')
    store = repo.store_document

    def refusing(path: str, *args: object, **kw: object) -> None:
        if path.endswith("b.txt") and args[1]:  # its articles, not the placeholder
            raise IntegrityError("INSERT ...", {}, ValueError("secret-value refused"))
        store(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "store_document", refusing)
    scanner = CorpusScanner(repo, Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        report = scanner.scan()
    with repo.engine.connect() as conn:
        webs = sorted(conn.scalars(select(ARTICLES.c.web_url)))
    assert webs == ["https://a.example.com/a.txt", "https://a.example.com/c.txt"]
    assert report.invalid == 1 and "b.txt" in caplog.text
    assert "secret-value" not in caplog.text  # the refused values are not logged


def test_a_database_that_is_down_still_fails_the_pass(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "https://a.example.com/a"\n---\n')

    def down(*args: object, **kw: object) -> None:
        raise OperationalError("INSERT ...", {}, ConnectionError("server closed"))

    monkeypatch.setattr(repo, "store_document", down)
    scanner = CorpusScanner(repo, Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty())
    with pytest.raises(OperationalError):
        scanner.scan()
