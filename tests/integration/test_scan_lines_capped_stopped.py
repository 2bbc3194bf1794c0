"""A corpus pass cut short (a stop, a full disk, the database gone) still says how
many files it stored that it did not name. The summary of the lines held back was
said only at the pass's end: a stop after 60 new files left 20 `new document`
lines as the last word (the log told of 20 documents where 60 were stored), and
the next pass's count started again from nothing. The daemon's scanner on a real
SQLite database and real files; the stop is the daemon's (`stopping`), raised
before the 61st file."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Settings
from monitor.daemon.scan import FILES_LOGGED, CorpusScanner, ScanStopped
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

READ = 3 * FILES_LOGGED  # stored before the stop
FILES = READ + 10


def test_a_pass_stopped_midway_sums_up_the_files_it_did_not_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(FILES):
        (corpus / f"{n:03}.txt").write_text(f'---\nwebUrl: "https://news.example.com/{n}"\n---\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    scanner = CorpusScanner(repo, Settings(paths=[corpus]), KeyRing.empty())
    read = scanner._read
    calls = 0

    def read_then_stop(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        done = read(*args, **kwargs)
        if calls == READ:
            scanner.stopping = True  # SIGTERM once this file was stored
        return done

    monkeypatch.setattr(scanner, "_read", read_then_stop)
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"), pytest.raises(ScanStopped):
        scanner.scan()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(repo.documents()) == READ
    assert len([line for line in lines if re.match(r"new document ", line)]) == FILES_LOGGED
    summary = f"{READ - FILES_LOGGED} more new documents not logged ({READ} in all this pass)"
    assert lines.count(summary) == 1, lines
    caplog.clear()
    scanner.stopping = False
    monkeypatch.setattr(scanner, "_read", read)
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
        scanner.scan()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len([line for line in lines if re.match(r"new document ", line)]) == FILES - READ
    assert not any("more new documents" in line for line in lines), lines
    engine.dispose()
