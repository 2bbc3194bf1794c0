"""The YAML cap holds per document of a `.yaml` stream, for `check`/`verify` (the
corpus reader), the daemon's scan and `sign --in-place` alike: a stream far past
the cap loads every document; one document over it is reported at its line,
counted invalid, and costs only itself. A file past the whole-file bound is
refused whole by all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.corpus import files as corpus_files
from monitor.corpus import iter_documents
from monitor.corpus.article import Document, InvalidDocument
from monitor.daemon.scan import CorpusScanner
from monitor.secured.inplace import rewrite_file
from monitor.storage.store import ARTICLES

CAP = 1000
COUNT = 200
BIG = 100  # the document over the cap


def _doc(n: int) -> str:
    if n == BIG:
        return f'---\nwebUrl: "https://news.test/{n}"\nexcerpt: "{"x" * 2 * CAP}"\n'
    return f'---\nwebUrl: "https://news.test/{n}"\ntitle: "t{n}"\n'


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(corpus_files, "MAX_YAML_BYTES", CAP)
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "s.yaml").write_text("".join(_doc(n) for n in range(COUNT)))
    return root


def _big_line() -> int:
    return 1 + 3 * BIG  # three lines a document before it


def test_check_and_verify_read_every_document_but_the_big_one(corpus: Path) -> None:
    assert (corpus / "s.yaml").stat().st_size > 10 * CAP
    items = list(iter_documents([corpus]))
    invalid = [i for i in items if isinstance(i, InvalidDocument)]
    assert len([i for i in items if isinstance(i, Document)]) == COUNT - 1
    assert [i.line for i in invalid] == [_big_line()]
    assert f"over the {CAP:,}-byte limit for YAML" in invalid[0].error


def test_the_daemon_scan_stores_every_document_but_the_big_one(
    scanner: CorpusScanner, corpus: Path
) -> None:
    report = scanner.scan()
    assert report.invalid == 1
    with scanner.repo.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ARTICLES)).scalar() == COUNT - 1


def test_sign_in_place_signs_every_document_but_the_big_one(corpus: Path) -> None:
    path = corpus / "s.yaml"
    result = rewrite_file(path, lambda doc: "S")
    assert result.errors == []
    assert result.signed == COUNT - 1
    assert [i.line for i in result.invalid] == [_big_line()]
    docs = [i for i in iter_documents([path]) if isinstance(i, Document)]
    assert len(docs) == COUNT - 1 and all(d.raw["secured"] == "S" for d in docs)


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_past_the_whole_file_bound_every_reader_refuses_the_file(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """`check` and `sign` refuse it in the same words, naming the file's own suffix."""
    monkeypatch.setattr(corpus_files, "MAX_FILE_BYTES", 5 * CAP)
    path = (corpus / "s.yaml").rename(corpus / f"s{suffix}")
    (item,) = iter_documents([path])
    assert isinstance(item, InvalidDocument) and item.line is None
    assert f"over the {5 * CAP:,}-byte limit for {suffix} files" in item.error
    result = rewrite_file(path, lambda doc: "S")
    assert result.signed == 0 and len(result.errors) == 1
    assert item.error in result.errors[0]


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_a_json_lines_file_past_the_bound_is_checked_and_signed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """JSON Lines are read a line at a time by `check` and by `sign --in-place` alike,
    so neither has the whole-file bound (signing refused them past it)."""
    monkeypatch.setattr(corpus_files, "MAX_FILE_BYTES", 100)
    path = tmp_path / f"s{suffix}"
    path.write_text("".join(f'{{"webUrl": "https://news.test/{n}"}}\n' for n in range(5)))
    assert path.stat().st_size > 100
    assert [type(i) for i in iter_documents([path])] == [Document] * 5
    result = rewrite_file(path, lambda doc: "S")
    assert result.errors == [] and result.signed == 5
    docs = list(iter_documents([path]))
    assert all(isinstance(d, Document) and d.raw["secured"] == "S" for d in docs), docs


def test_a_json_lines_file_not_utf8_past_the_bound_names_its_bad_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_files, "MAX_FILE_BYTES", 100)
    path = tmp_path / "s.jsonl"
    good = "".join(f'{{"webUrl": "https://news.test/{n}"}}\n' for n in range(5))
    path.write_bytes(good.encode() + b'{"webUrl": "https://news.test/\xff"}\n')
    before = path.read_bytes()
    result = rewrite_file(path, lambda doc: "S")
    assert [i.line for i in result.invalid] == [6] and result.signed == 0
    assert path.read_bytes() == before
