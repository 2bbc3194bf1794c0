"""A file one of whose records the database refuses (a data or constraint error) is
reported like an unreadable file: retried at every rescan, logged once per cause.
Each rescan said `… can be read again` and then the ERROR once more."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from monitor.daemon.scan import CorpusScanner


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text('---\nwebUrl: "https://news.example.com/a"\ntitle: "t"\n---\n')
    return root


def test_a_refused_record_is_logged_once_per_cause(
    scanner: CorpusScanner, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = scanner.repo.store_document

    def refusing(key: str, read: Any, *args: Any) -> Any:
        if callable(read):  # the file's own records (not the unreadable marker row)
            raise IntegrityError("INSERT INTO articles ...", {}, Exception("refused"))
        return real(key, read, *args)

    monkeypatch.setattr(scanner.repo, "store_document", refusing)
    caplog.set_level(logging.INFO)
    for _ in range(3):
        report = scanner.scan()
        assert [Path(k).name for k in report.unreadable] == ["a.txt"]
    assert caplog.text.count("the database refused a record") == 1
    assert "can be read again" not in caplog.text
