"""The daemon's rescan of a multi-document `.yaml` file: a document removed retires
its article (its targets leave the schedule), a changed one is stored again, the
others keep their ids; a document broken later retires only its own article."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.daemon.scan import CorpusScanner
from monitor.storage.store import ARTICLES, TARGETS


def _doc(n: int, title: str = "t") -> str:
    return f"---\nwebUrl: https://news.test/{n}\ntitle: {title}\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "s.yaml").write_text(_doc(1) + _doc(2) + _doc(3))
    return root


def _articles(scanner: CorpusScanner) -> dict[str, tuple[str, str | None]]:
    with scanner.repo.engine.connect() as conn:
        rows = conn.execute(select(ARTICLES.c.web_url, ARTICLES.c.id, ARTICLES.c.title))
        return {url: (aid, title) for url, aid, title in rows}


def _active(scanner: CorpusScanner) -> set[str]:
    with scanner.repo.engine.connect() as conn:
        rows = conn.execute(select(TARGETS.c.url).where(TARGETS.c.active == 1))
        return {url for (url,) in rows}


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a change the scan sees


def test_documents_removed_changed_and_broken(scanner: CorpusScanner, corpus: Path) -> None:
    stream = corpus / "s.yaml"
    scanner.scan()
    first = _articles(scanner)
    assert len(first) == 3

    _rewrite(stream, _doc(1) + _doc(3, "changed"))
    scanner.scan()
    second = _articles(scanner)
    assert set(second) == {"https://news.test/1", "https://news.test/3"}
    assert second["https://news.test/1"] == first["https://news.test/1"]
    assert second["https://news.test/3"] == (first["https://news.test/3"][0], "changed")
    assert _active(scanner) == {"https://news.test/1", "https://news.test/3"}

    _rewrite(stream, _doc(1, "a: b") + _doc(3, "changed"))
    report = scanner.scan()
    assert report.invalid == 1
    assert set(_articles(scanner)) == {"https://news.test/3"}
    assert _active(scanner) == {"https://news.test/3"}
