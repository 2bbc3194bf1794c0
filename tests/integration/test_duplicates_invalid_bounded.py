"""The daemon's `duplicate_url` pass re-reads a document whose article another
document owns (daemon/duplicate_marks.py). A file of many broken records
beside one shared article must not have them all held for it: they are
counted, not kept, and the count stays exact when the file is stored again."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.traced import traced

from monitor.daemon.scan import CorpusScanner

WEB = "https://news.example/story/1"
BROKEN = 20_000
# traced peak of the pass that re-reads the file, in bytes: ~0.4 MB when the broken
# records are counted; holding them cost ~4 MB (32 MB with each logged again into
# the test's log capture)
PEAK_BYTES = 2 << 20


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus"
    path.mkdir()
    return path


def test_broken_records_beside_a_shared_article_are_counted_not_held(
    scanner: CorpusScanner, corpus: Path
) -> None:
    broken = "".join(f"not json {n}\n" for n in range(BROKEN))
    (corpus / "b.jsonl").write_text(f'{{"webUrl": "{WEB}"}}\n' + broken)
    scanner.scan()
    (corpus / "a.jsonl").write_text(f'{{"webUrl": "{WEB}"}}\n')
    scanner.scan()  # a.jsonl owns the article now: b.jsonl is read again for its ids
    assert scanner.repo.snapshot().problems.get("duplicate_url", 0) == 1
    assert scanner.repo.snapshot().invalid_documents == BROKEN

    scanner._marks._ids.clear()  # as after a restart: b.jsonl is read again for its ids
    (corpus / "a.jsonl").unlink()  # and the owner goes: b.jsonl is stored again (adopted)
    with traced() as mem:
        report = scanner.scan()
    assert report.changed == 1  # b.jsonl stored again
    assert scanner.repo.snapshot().invalid_documents == BROKEN
    assert scanner.repo.snapshot().articles == 1
    assert mem.peak < PEAK_BYTES, mem
