"""The daemon's corpus rescan against a real SQLite file and real corpus files:
an error is never "the files are gone" (issue 10, items 2, 4 and 9).

Faults are injected at `os.scandir` (root reads any file; see support/fsfaults.py).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from support.fsfaults import EACCES, EMFILE, failing_listings, hostile_tree

from monitor.config import Settings
from monitor.corpus import files as corpus_files
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import ARTICLES, Repository


def doc(n: int) -> str:
    return f'---\nwebUrl: "https://news{n}.example.com/a"\ntitle: "t"\n---\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text(doc(1))
    (root / "sub" / "b.txt").write_text(doc(2))
    (root / "sub" / "deeper" / "c.txt").write_text(doc(3))
    return root


def sources(scanner: CorpusScanner) -> list[str]:
    with scanner.repo.engine.connect() as conn:
        return sorted(Path(r).name for r in conn.scalars(select(ARTICLES.c.source)))


def invalid_gauge(scanner: CorpusScanner) -> int:
    return scanner.repo.snapshot().invalid_documents


def test_an_unlistable_folder_keeps_its_documents_and_is_reported(
    scanner: CorpusScanner,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scanner.scan()
    assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]
    caplog.set_level(logging.INFO)
    with failing_listings(monkeypatch, {corpus / "sub": EACCES}) as failing:
        report = scanner.scan()
        assert report.removed == 0
        assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]  # nothing retired
        assert f"unreadable folder: {corpus / 'sub'} (permission denied)" in report.problems
        assert invalid_gauge(scanner) == 1
        assert "is gone" not in caplog.text
        assert caplog.text.count(f"cannot read the folder {corpus / 'sub'}") == 1
        scanner.scan()  # logged once per cause, not at every rescan
        assert caplog.text.count(f"cannot read the folder {corpus / 'sub'}") == 1
        del failing[corpus / "sub"]
        report = scanner.scan()
    assert report.problems == [] and report.removed == 0
    assert invalid_gauge(scanner) == 0
    assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]
    assert f"{corpus / 'sub'} can be read again" in caplog.text


def test_out_of_file_handles_retires_nothing(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanner.scan()
    with failing_listings(monkeypatch, {corpus: EMFILE}):
        report = scanner.scan()
    assert report.removed == 0 and report.files == 0
    assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]
    assert any("too many open files" in p for p in report.problems), report.problems


def test_a_deleted_folder_is_still_deleted(scanner: CorpusScanner, corpus: Path) -> None:
    scanner.scan()
    for path in (corpus / "sub" / "deeper" / "c.txt", corpus / "sub" / "b.txt"):
        path.unlink()
    (corpus / "sub" / "deeper").rmdir()
    (corpus / "sub").rmdir()
    report = scanner.scan()
    assert report.removed == 2 and sources(scanner) == ["a.txt"]


def test_a_file_that_fails_to_read_keeps_its_articles(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanner.scan()
    (corpus / "a.txt").write_text(doc(9))  # changed: it will be read again
    real = corpus_files.os.open

    def failing_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("a.txt"):
            raise OSError(errno.EMFILE, "Too many open files", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_files.os, "open", failing_open)
    for _ in range(2):  # counted once however many passes fail
        report = scanner.scan()
        assert report.removed == 0 and sources(scanner) == ["a.txt", "b.txt", "c.txt"]
        assert any("a.txt" in p for p in report.problems)
        assert invalid_gauge(scanner) == 1
    monkeypatch.undo()
    report = scanner.scan()
    assert report.problems == [] and report.changed == 1 and invalid_gauge(scanner) == 0


def test_an_unchanged_file_that_fails_to_read_is_counted_then_restored(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanner.scan()
    real = corpus_files.os.open

    def failing_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("a.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_files.os, "open", failing_open)
    report = scanner.scan()
    monkeypatch.undo()
    assert report.unreadable == [str(corpus / "a.txt")] and invalid_gauge(scanner) == 1
    assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]
    report = scanner.scan()  # same content: stored again, so the count is right again
    assert report.problems == [] and invalid_gauge(scanner) == 0
    assert sources(scanner) == ["a.txt", "b.txt", "c.txt"]


def test_one_bad_jsonl_line_costs_only_that_line_in_the_daemon_too(
    scanner: CorpusScanner, corpus: Path
) -> None:
    lines = [json.dumps({"webUrl": f"https://j.example.com/{i}"}).encode() for i in range(3)]
    for bad in (b'{"webUrl": "https://j.example.com/\x00"}', b'{"title": "caf\xe9"}'):
        (corpus / "feed.jsonl").write_bytes(b"\n".join([*lines, bad]) + b"\n")
        report = scanner.scan(force=True)
        assert sources(scanner).count("feed.jsonl") == 3
        assert report.invalid == 1


def test_a_file_deleted_between_listing_and_reading_is_gone(
    scanner: CorpusScanner,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scanner.scan()
    caplog.set_level(logging.INFO)
    (corpus / "a.txt").write_text(doc(7))
    real = corpus_files.os.open

    def deleting_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("a.txt") and os.path.exists(str(path)):
            os.unlink(str(path))  # deleted after the listing saw it
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_files.os, "open", deleting_open)
    report = scanner.scan()
    monkeypatch.undo()
    assert sources(scanner) == ["b.txt", "c.txt"] and report.removed == 1
    assert report.problems == [] and invalid_gauge(scanner) == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_the_daemon_stores_what_check_reports(tmp_path: Path) -> None:
    """One reader and one audit: the same articles, problems and invalid count."""
    from monitor.check.oneshot import load_corpus

    examples = Path(__file__).resolve().parents[2] / "examples"
    engine = make_engine(f"sqlite:///{tmp_path / 'same.db'}")
    upgrade(engine)
    settings = Settings(paths=[examples], data_dir=tmp_path)
    scanner = CorpusScanner(Repository(engine), settings, KeyRing.empty())
    try:
        report = scanner.scan()
        with engine.connect() as conn:
            stored = {
                r.id: sorted(c for c in r.problems.split() if c != "duplicate_url")
                for r in conn.execute(select(ARTICLES.c.id, ARTICLES.c.problems))
            }
    finally:
        engine.dispose()
    corpus = load_corpus(settings, KeyRing.empty(), now=datetime.now(UTC))
    reported = {
        e.id: sorted({p.code.value for p in e.problems if p.code.value != "duplicate_url"})
        for e in corpus.entries
    }
    assert stored == reported
    assert report.invalid == len(corpus.invalid) > 0


def test_a_hostile_tree_never_fails_the_rescan(tmp_path: Path, scanner: CorpusScanner) -> None:
    """A name that is not UTF-8 used to fail every rescan (the database takes text)."""
    root = hostile_tree(tmp_path / "hostile")
    scanner.settings = Settings(paths=[root], data_dir=tmp_path)
    for _ in range(2):
        report = scanner.scan()
        assert sorted(Path(p).name for p in report.unreadable) == [
            "dangling.txt",
            "fifo.jsonl",
            "self.txt",
            "zero.json",
        ]
        assert invalid_gauge(scanner) == 4
        assert sources(scanner) == ["bad\\xff.txt", "inner.md", "ok.txt"]


def test_a_folder_deleted_during_the_walk_is_retired_quietly(
    scanner: CorpusScanner,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scanner.scan()
    real = os.scandir

    def deleting_scandir(path: object = ".") -> object:
        if isinstance(path, str | Path) and Path(path) == corpus / "sub":
            shutil.rmtree(corpus / "sub")
        return real(path)  # type: ignore[arg-type]

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(os, "scandir", deleting_scandir)
    report = scanner.scan()
    monkeypatch.undo()
    assert report.removed == 2 and report.problems == [] and sources(scanner) == ["a.txt"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_duplicates_stay_marked_while_a_copy_cannot_be_read(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown is not "no duplicates": after a restart (no cache), a copy that cannot
    be read leaves duplicate_url as it was instead of clearing it."""
    (corpus / "a2.txt").write_text(doc(1))  # a.txt's webUrl again
    engine = make_engine(f"sqlite:///{tmp_path / 'dup.db'}")
    upgrade(engine)
    settings = Settings(paths=[corpus], data_dir=tmp_path)
    try:
        CorpusScanner(Repository(engine), settings, KeyRing.empty()).scan()
        dups = lambda: Repository(engine).snapshot().problems.get("duplicate_url", 0)  # noqa: E731
        assert dups() == 1
        real = corpus_files.os.open

        def failing_open(path: object, *args: object, **kwargs: object) -> int:
            if str(path).endswith(("a.txt", "a2.txt")):
                raise OSError(errno.EIO, "Input/output error", str(path))
            return real(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(corpus_files.os, "open", failing_open)
        restarted = CorpusScanner(Repository(engine), settings, KeyRing.empty())
        restarted.scan()
        assert dups() == 1
        monkeypatch.undo()
        restarted.scan()
        assert dups() == 1
        (corpus / "a2.txt").unlink()
        restarted.scan()
        assert dups() == 0
    finally:
        engine.dispose()


def test_a_failure_is_forgotten_once_its_path_is_gone(
    scanner: CorpusScanner,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = corpus_files.os.open

    def failing_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("x.txt"):
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(corpus_files.os, "open", failing_open)
    (corpus / "x.txt").write_text(doc(5))
    scanner.scan()
    scanner.scan()
    assert caplog.text.count("cannot read") == 1  # once per cause
    (corpus / "x.txt").unlink()
    scanner.scan()
    (corpus / "x.txt").write_text(doc(5))  # back, and failing again: said again
    scanner.scan()
    assert caplog.text.count("cannot read") == 2
