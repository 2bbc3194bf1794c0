"""A configured corpus path that goes while the pass walks the ones before it
(a volume unmounted mid-scan) keeps its documents, as one missing at the
start of the pass does: its walk found nothing, which is not "gone"."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Settings
from monitor.corpus import Unreadable
from monitor.daemon import scan as scan_module
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import ARTICLES, Repository


def doc(n: int) -> str:
    return f'---\nwebUrl: "https://news{n}.example.com/a"\ntitle: "t"\n---\n'


def sources(repo: Repository) -> list[str]:
    with repo.engine.connect() as conn:
        return sorted(Path(r).name for r in conn.scalars(select(ARTICLES.c.source)))


def test_a_path_unmounted_while_an_earlier_one_is_walked_keeps_its_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root, names in ((first, ("a", "b")), (second, ("c", "d"))):
        root.mkdir()
        for name in names:
            (root / f"{name}.txt").write_text(doc(ord(name)))
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    scanner = CorpusScanner(
        repo, Settings(paths=[first, second], data_dir=tmp_path), KeyRing.empty()
    )
    scanner.scan()
    assert sources(repo) == ["a.txt", "b.txt", "c.txt", "d.txt"]

    walk = scan_module.iter_files

    def unmounting(paths: Sequence[Path]) -> Iterator[Path | Unreadable]:
        for item in walk(paths):
            if second.exists():  # gone while the first path's files are read
                shutil.move(second, tmp_path / "elsewhere")
            yield item

    monkeypatch.setattr(scan_module, "iter_files", unmounting)
    with caplog.at_level(logging.ERROR, logger="monitor.daemon.scan"):
        report = scanner.scan(force=True)
    assert sources(repo) == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert report.removed == 0
    assert str(second) in report.missing_roots
    assert any("is missing" in r.getMessage() for r in caplog.records)
    engine.dispose()
