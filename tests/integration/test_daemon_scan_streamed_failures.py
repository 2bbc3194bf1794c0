"""A new corpus file whose store is cut short by the database (hostile review #2).

A file is stored batch by batch and its document row (the fingerprint) goes
last. A new file whose store stopped midway for any other reason than a read
error or a refused record (a disk full, a lock held too long, a bug, a kill)
left its first batches with no document row: the next pass stored the file
whole if it was still there, but a file deleted meanwhile was never retired
(retirement walks the document rows), and its targets were checked for ever.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from test_daemon_scan_streamed import ARTICLES_IN_FILE, corpus, record, small_batches, stored

from monitor.daemon import scan as scan_module
from monitor.daemon.scan import CorpusScanner
from monitor.storage import corpus as corpus_store
from monitor.storage.repository import DOCUMENTS

__all__ = ["corpus", "small_batches"]  # the streamed scan's fixtures, shared


def full_midway(monkeypatch: pytest.MonkeyPatch, after: int = 2) -> None:
    """The database fills up at the file's third batch."""
    real = corpus_store.CorpusStore._store_round
    calls = [0]

    def store_round(self: Any, conn: Any, batch: Any, now: int) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise OperationalError("INSERT INTO articles ...", None, Exception("disk is full"))
        real(self, conn, batch, now)

    monkeypatch.setattr(corpus_store.CorpusStore, "_store_round", store_round)


def test_a_new_file_cut_short_by_the_database_then_deleted_is_retired(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_midway(monkeypatch)
    with pytest.raises(OperationalError):
        scanner.scan()
    assert stored(scanner)[0] >= 3  # its first batches are in, and due
    monkeypatch.undo()
    (corpus / "big.jsonl").unlink()
    scanner.scan()
    assert stored(scanner) == (0, 0, 0)  # nothing of it left to check for ever


def test_a_new_file_cut_short_by_the_database_is_stored_whole_at_the_next_pass(
    scanner: CorpusScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_midway(monkeypatch)
    with pytest.raises(OperationalError):
        scanner.scan()
    monkeypatch.undo()
    monkeypatch.setattr(corpus_store, "STORE_BATCH", 3)
    report = scanner.scan()
    assert report.changed == 1
    assert stored(scanner) == (ARTICLES_IN_FILE, ARTICLES_IN_FILE, 1)
    with scanner.repo.engine.connect() as conn:
        row = conn.execute(select(DOCUMENTS)).one()
    assert (row.articles, row.invalid, row.size >= 0) == (ARTICLES_IN_FILE, 0, True)


def padded(n: int) -> str:
    """A record of ~1 KiB: a few of them fill the reader's buffer."""
    doc = {"webUrl": f"https://news{n}.example.com/a", "title": f"t{n}", "pad": "x" * 1000}
    return json.dumps(doc) + "\n"


def test_a_file_rewritten_in_place_while_stored_is_read_again(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool that rewrites a file in place (`>`: truncate, then write the same
    content) while the scan stores it: the scan read the truncated file, and
    stored the few articles it held under the fingerprint of the whole file,
    hashed before. Rewritten whole, the file had that fingerprint again, so the
    next pass kept the articles the scan had dropped unwatched, for as long as
    the file did not change."""
    path = corpus / "big.jsonl"
    whole = "".join(padded(n) for n in range(ARTICLES_IN_FILE))
    path.write_text(whole)
    real = scan_module.parse_stream

    def parse_stream(source: str, fh: Any, suffix: str) -> Iterator[Any]:
        for n, item in enumerate(real(source, fh, suffix)):
            if n == 2:  # the writer has truncated the file, and not written it yet
                with path.open("r+b") as out:
                    out.truncate(len(padded(0)) * 4)
            yield item

    monkeypatch.setattr(scan_module, "parse_stream", parse_stream)
    scanner.scan()
    assert stored(scanner)[0] < ARTICLES_IN_FILE  # what the truncated file held
    monkeypatch.undo()
    monkeypatch.setattr(corpus_store, "STORE_BATCH", 3)
    path.write_text(whole)  # the writer is done: the same content as before
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    scanner.scan()
    assert stored(scanner) == (ARTICLES_IN_FILE, ARTICLES_IN_FILE, 1)


def test_a_stop_ends_the_pass_between_two_articles_and_retires_nothing(
    scanner: CorpusScanner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM during a big file's store: the pass ends at the next article (the
    exit waited for the whole first pass over the corpus), keeps every file it
    did not reach, and the next start stores the cut file whole."""
    for n in range(3):
        (corpus / f"small{n}.jsonl").write_text(record(100 + n))
    scanner.scan()
    assert stored(scanner) == (ARTICLES_IN_FILE + 3, ARTICLES_IN_FILE + 3, 4)
    real = scan_module.parse_stream

    def parse_stream(source: str, fh: Any, suffix: str) -> Iterator[Any]:
        for n, item in enumerate(real(source, fh, suffix)):
            if n == 7:
                scanner.stopping = True  # service.stop(), from the event loop's thread
            yield item

    monkeypatch.setattr(scan_module, "parse_stream", parse_stream)
    with pytest.raises(scan_module.ScanStopped):
        scanner.scan(force=True)  # SIGHUP's pass: every file read again
    assert stored(scanner) == (ARTICLES_IN_FILE + 3, ARTICLES_IN_FILE + 3, 4)

    monkeypatch.undo()
    monkeypatch.setattr(corpus_store, "STORE_BATCH", 3)
    (corpus / "big.jsonl").write_text("".join(record(n) for n in range(20, 20 + ARTICLES_IN_FILE)))
    scanner.stopping = True
    with pytest.raises(scan_module.ScanStopped):
        scanner.scan()
    scanner.stopping = False  # the next start
    scanner.scan()
    assert stored(scanner) == (ARTICLES_IN_FILE + 3, ARTICLES_IN_FILE + 3, 4)
