"""A corpus pass names at most FILES_LOGGED files per kind of line at info (new,
updated, audited again for the clock, gone), then one line with how many more and
the total; the rest go to debug. Every file falling due at once (migration 0011
marks each file stored with a date in the future; a clock jump), a first scan or
a release unpacked over the corpus wrote one line per file: 200,000 for a corpus
of that many. The daemon's scanner on a real SQLite database and real files."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.config import Settings
from monitor.daemon.scan import FILES_LOGGED, RECHECK_AFTER_UPGRADE, CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

FILES = 3 * FILES_LOGGED  # 60: enough to be capped, few to keep the test fast


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    caplog.clear()
    return lines


def test_a_pass_over_many_files_names_a_few_and_counts_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(FILES):
        (corpus / f"{n:03}.txt").write_text(f'---\nwebUrl: "https://news.example.com/{n}"\n---\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    scanner = CorpusScanner(Repository(engine), Settings(paths=[corpus]), KeyRing.empty())
    rest = FILES - FILES_LOGGED

    def one_pass(kind: str, summary: str) -> None:
        with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
            report = scanner.scan()
        lines = said(caplog)
        assert len([line for line in lines if re.match(kind, line)]) == FILES_LOGGED, lines
        assert lines.count(summary) == 1, lines
        assert len(lines) <= FILES_LOGGED + 2, lines  # + a line of the pass's totals
        assert report.files == FILES

    one_pass(
        r"new document \S+: 1 articles",
        f"{rest} more new documents not logged ({FILES} in all this pass)",
    )
    for n in range(FILES):  # edited (a longer file: the size alone tells it)
        (corpus / f"{n:03}.txt").write_text(
            f'---\nwebUrl: "https://news.example.com/{n}"\ntitle: "T"\n---\n'
        )
    one_pass(
        r"updated document \S+: 1 articles",
        f"{rest} more updated documents not logged ({FILES} in all this pass)",
    )
    with engine.begin() as conn:  # as migration 0011 marks them: all due for the clock
        conn.execute(text("update documents set recheck_at = :at"), {"at": RECHECK_AFTER_UPGRADE})
    one_pass(
        r"document \S+ audited again, unchanged",
        f"{rest} more documents audited again, unchanged, for the clock, not logged "
        f"({FILES} in all this pass)",
    )
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
        scanner.scan()
    assert said(caplog) == []  # nothing changed: nothing said
    for n in range(FILES):
        (corpus / f"{n:03}.txt").unlink()
    (corpus / "keep.txt").write_text('---\nwebUrl: "https://news.example.com/keep"\n---\n')
    with caplog.at_level(logging.INFO, logger="monitor.daemon.scan"):
        scanner.scan()
    lines = said(caplog)
    gone = [line for line in lines if re.match(r"document \S+ is gone", line)]
    assert len(gone) == FILES_LOGGED, lines
    summary = (
        f"{rest} more documents gone, their targets retired, not logged ({FILES} in all this pass)"
    )
    assert lines.count(summary) == 1, lines
    engine.dispose()
