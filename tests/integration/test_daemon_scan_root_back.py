"""A configured corpus path that went missing and came back is said to be back:
the log's last word on it was the error "is missing; keeping its documents"."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository


def test_a_missing_corpus_path_that_returns_is_said_back_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "https://news.example.com/a"\n---\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    scanner = CorpusScanner(
        Repository(engine), Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty()
    )
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
        scanner.scan()
        corpus.rename(tmp_path / "away")
        assert scanner.scan().missing_roots == [str(corpus)]
        (tmp_path / "away").rename(corpus)
        assert scanner.scan().problems == []
        scanner.scan()
    said = [r.getMessage() for r in caplog.records]
    assert (
        said.count(f"corpus path {corpus} is missing; keeping its documents until it returns") == 1
    )
    assert said.count(f"corpus path {corpus} is back") == 1
    engine.dispose()
