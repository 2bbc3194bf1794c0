"""A big corpus file is read, audited and stored as it goes (issue 16).

The scan parsed and audited a whole file before storing its first batch: a
10,000-article file kept `run --once` from its first check for ~1.3 s of
parsing (the issue's `--once` target is 1.25x of `check`'s time). Its first
batches are now committed, and their targets due, while the rest is read;
the file's fingerprint still goes last. A file that cannot be read to its
end, or that vanishes midway, leaves none of its half-stored articles behind.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.daemon import scan as scan_module
from monitor.daemon.scan import CorpusScanner
from monitor.storage import corpus as corpus_store
from monitor.storage.repository import ARTICLES, DOCUMENTS, TARGETS

ARTICLES_IN_FILE = 12


def record(n: int) -> str:
    return json.dumps({"webUrl": f"https://news{n}.example.com/a", "title": f"t{n}"}) + "\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "big.jsonl").write_text("".join(record(n) for n in range(ARTICLES_IN_FILE)))
    return root


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_store, "STORE_BATCH", 3)


def stored(scanner: CorpusScanner) -> tuple[int, int, int]:
    """(articles, due targets, documents with a real fingerprint: a new file's
    row is PENDING while it is stored) as another connection sees them."""
    with scanner.repo.engine.connect() as conn:
        arts = conn.scalar(select(func.count()).select_from(ARTICLES))
        due = conn.scalar(
            select(func.count()).select_from(TARGETS).where(TARGETS.c.next_due.is_not(None))
        )
        docs = conn.scalar(select(func.count()).select_from(DOCUMENTS).where(DOCUMENTS.c.size >= 0))
    return int(arts or 0), int(due or 0), int(docs or 0)


def watch_parsing(
    monkeypatch: pytest.MonkeyPatch, at: int, seen: list[tuple[int, int, int]], fail: OSError | None
) -> None:
    """Record what is stored when the parser reaches document `at` (and raise `fail` there)."""
    real = scan_module.parse_stream

    def parse_stream(source: str, fh: object, suffix: str) -> Iterator[object]:
        for n, item in enumerate(real(source, fh, suffix)):  # type: ignore[arg-type]
            if n == at:
                seen.append(stored(scanner_ref[0]))
                if fail is not None:
                    raise fail
            yield item

    monkeypatch.setattr(scan_module, "parse_stream", parse_stream)


scanner_ref: list[CorpusScanner] = []


def test_the_first_batches_are_due_before_the_file_is_read_to_its_end(
    scanner: CorpusScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanner_ref[:] = [scanner]
    seen: list[tuple[int, int, int]] = []
    watch_parsing(monkeypatch, at=9, seen=seen, fail=None)
    report = scanner.scan()
    articles, due, documents = seen[0]
    assert articles >= 3 and due >= 3  # the first batch (of 3) is committed and due
    assert documents == 0  # the fingerprint goes last
    assert report.changed == 1
    assert stored(scanner) == (ARTICLES_IN_FILE, ARTICLES_IN_FILE, 1)


@pytest.mark.parametrize("gone", [False, True], ids=["unreadable", "vanished"])
def test_a_new_file_failing_midway_leaves_nothing_half_stored(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch, gone: bool
) -> None:
    scanner_ref[:] = [scanner]
    seen: list[tuple[int, int, int]] = []
    fail = OSError(errno.ENOENT if gone else errno.EIO, "midway")
    if gone:
        real_vanished = scan_module.vanished
        monkeypatch.setattr(
            scan_module, "vanished", lambda path, exc: exc is fail or real_vanished(path, exc)
        )
    watch_parsing(monkeypatch, at=9, seen=seen, fail=fail)
    scanner.scan()
    assert seen[0][0] >= 3  # batches were stored before the failure
    articles, due, _ = stored(scanner)
    assert (articles, due) == (0, 0)  # none left behind, none checked for ever

    monkeypatch.undo()  # readable again: stored whole at the next pass
    monkeypatch.setattr(corpus_store, "STORE_BATCH", 3)
    scanner.scan()
    assert stored(scanner) == (ARTICLES_IN_FILE, ARTICLES_IN_FILE, 1)
