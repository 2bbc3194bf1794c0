"""Corpus reading under faults: a folder that cannot be listed, a file that
vanishes, an exhausted process, hostile files. An error is never "no files".

Root reads any file, so the faults are injected at `os.scandir` (see
tests/support/fsfaults.py); the permission-bit cases run for non-root users.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.fsfaults import EACCES, EMFILE, PERMISSIONS_IGNORED, failing_listings, hostile_tree

from monitor import corpus
from monitor.cli import cli
from monitor.corpus import files as corpus_files
from monitor.corpus import iter_documents, load_file, parse_bytes
from monitor.corpus.article import Document, InvalidDocument


def article(n: int) -> str:
    return f'---\nwebUrl: "https://news{n}.example.com/a"\n---\n'


def tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text(article(1))
    (root / "sub" / "b.txt").write_text(article(2))
    (root / "sub" / "deeper" / "c.txt").write_text(article(3))
    (root / "z.txt").write_text(article(4))
    return root


def kinds(items: list[Document | InvalidDocument]) -> list[tuple[str, str]]:
    return [(type(i).__name__, Path(i.source).name) for i in items]


def test_an_unlistable_folder_is_an_invalid_document_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "corpus")
    with failing_listings(monkeypatch, {root / "sub": EACCES}):
        items = list(iter_documents([root]))
    assert kinds(items) == [
        ("Document", "a.txt"),
        ("Document", "z.txt"),
        ("InvalidDocument", "sub"),
    ]
    bad = items[2]
    assert isinstance(bad, InvalidDocument) and bad.source == str(root / "sub")
    assert "cannot read the folder" in bad.error and "permission denied" in bad.error.lower()


def test_running_out_of_file_handles_is_not_an_empty_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "corpus")
    with failing_listings(monkeypatch, {root: EMFILE}):
        (bad,) = iter_documents([root])
    assert isinstance(bad, InvalidDocument) and bad.source == str(root)
    assert "too many open files" in bad.error.lower()


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="this process reads any file (root)")
def test_a_folder_without_permission(tmp_path: Path) -> None:
    root = tree(tmp_path / "corpus")
    (root / "sub").chmod(0)
    try:
        items = list(iter_documents([root]))
    finally:
        (root / "sub").chmod(0o700)
    assert kinds(items)[-1] == ("InvalidDocument", "sub")


def test_check_exits_1_when_a_folder_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "corpus")
    with failing_listings(monkeypatch, {root / "sub": EACCES}):
        result = CliRunner().invoke(
            cli, ["check", str(root), "--offline", "--format", "json"], catch_exceptions=False
        )
    report = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert report["summary"]["invalid_documents"] == 1
    (bad,) = report["invalid_documents"]
    assert bad["source"] == str(root / "sub") and "cannot read the folder" in bad["error"]
    assert report["summary"]["articles"] == 2


# --- one reader: the daemon's bytes and check's file give one result -----------------


HOSTILE: dict[str, bytes] = {
    "nul_on_line_4.jsonl": b"".join(
        json.dumps({"webUrl": f"https://a.example.com/{i}"}).encode() + b"\n" for i in range(3)
    )
    + b'{"webUrl": "https://a.example.com/\x00"}\n',
    "latin1_on_line_4.jsonl": b"".join(
        json.dumps({"webUrl": f"https://b.example.com/{i}"}).encode() + b"\n" for i in range(3)
    )
    + b'{"webUrl": "https://b.example.com/caf\xe9"}\n',
    "bom_twice.jsonl": b'\xef\xbb\xbf\xef\xbb\xbf{"webUrl": "https://c.example.com/"}\n',
    "bom.json": b'\xef\xbb\xbf{"webUrl": "https://d.example.com/"}',
    "crlf.ndjson": b'{"webUrl": "https://e.example.com/"}\r\n\r\n{"webUrl": 3}\r\n',
    "utf16.jsonl": '{"webUrl": "https://f.example.com/"}\n'.encode("utf-16"),
    "nul_in_body.txt": b'---\nwebUrl: "https://g.example.com/"\n---\nbody \x00\n',
    "no_newline_at_end.jsonl": b'{"webUrl": "https://h.example.com/"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_daemons_bytes_and_checks_file_read_the_same(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    from_file = list(load_file(path))
    from_bytes = list(parse_bytes(str(path), HOSTILE[name], path.suffix))
    assert from_file == from_bytes
    assert from_file, "every file gives at least one record or error"


def test_one_bad_jsonl_line_costs_only_that_line(tmp_path: Path) -> None:
    for name in ("nul_on_line_4.jsonl", "latin1_on_line_4.jsonl"):
        data = HOSTILE[name]
        items = list(parse_bytes(name, data, ".jsonl"))
        assert [type(i) for i in items] == [Document, Document, Document, InvalidDocument]
        assert items[3].line == 4


def test_every_example_reads_the_same_from_bytes_and_from_the_file() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) >= 30
    for path in files:
        assert list(load_file(path)) == list(
            parse_bytes(str(path), path.read_bytes(), path.suffix)
        ), path


def test_module_exports() -> None:
    assert callable(corpus.load_file)


# --- YAML is capped far below JSON: parsing it costs ~5x its size ----------------------


def test_a_yaml_document_over_the_cap_is_refused_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap holds per document of a stream: the file was refused whole."""
    monkeypatch.setattr(corpus_files, "MAX_YAML_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text(
        'webUrl: "https://a.example/1"\n---\n'
        'webUrl: "https://a.example/"\nexcerpt: "' + "x" * 2000 + '"\n'
        '---\nwebUrl: "https://a.example/2"\n'
    )
    for items in (list(load_file(big)), list(parse_bytes(str(big), big.read_bytes(), ".yaml"))):
        assert [type(i) for i in items] == [Document, InvalidDocument, Document]
        assert items[1].line == 2  # its `---` line
        assert "YAML document is over the 1,000-byte limit for YAML" in items[1].error
    # the same record as JSON is fine: JSON has its own, much higher limit
    as_json = tmp_path / "big.json"
    as_json.write_text(json.dumps({"webUrl": "https://a.example/", "excerpt": "x" * 2000}))
    (good,) = load_file(as_json)
    assert isinstance(good, Document)


def test_a_front_matter_over_the_cap_is_refused_but_a_long_body_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_files, "MAX_YAML_BYTES", 1000)
    long_body = tmp_path / "body.md"
    long_body.write_text('---\nwebUrl: "https://a.example/"\n---\n' + "body " * 1000)
    assert [type(i) for i in load_file(long_body)] == [Document]
    big = tmp_path / "big.txt"
    big.write_text('---\nwebUrl: "https://a.example/"\nexcerpt: "' + "x" * 2000 + '"\n---\n')
    (bad,) = load_file(big)
    assert isinstance(bad, InvalidDocument) and bad.line == 2
    assert "front matter is over the 1,000-byte limit for YAML" in bad.error


# --- hostile trees -------------------------------------------------------------------


def test_a_hostile_tree_is_read_and_every_bad_entry_named(tmp_path: Path) -> None:
    root = hostile_tree(tmp_path / "corpus")
    items = list(iter_documents([root]))
    docs = sorted(Path(i.source).name for i in items if isinstance(i, Document))
    # a name that is not UTF-8 is named with its odd bytes escaped: reports stay UTF-8
    assert docs == sorted(["bad\\xff.txt", "inner.md", "ok.txt"])
    errors = {Path(i.source).name: i.error for i in items if isinstance(i, InvalidDocument)}
    assert errors == {
        "dangling.txt": "broken symbolic link: its target does not exist",
        "fifo.jsonl": "not a regular file (a FIFO or device?): give a corpus file or directory",
        "self.txt": "cannot read the file: too many levels of symbolic links",
        "zero.json": "not a regular file (a FIFO or device?): give a corpus file or directory",
    }


def test_a_fifo_is_refused_at_open_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)  # a path swapped for a FIFO after listing: open() must not block
    with pytest.raises(OSError, match="not a regular file"), corpus.open_regular(fifo):
        pass


def test_a_file_deleted_after_listing_is_gone_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "corpus")
    real = corpus_files.os.open

    def deleting_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("a.txt") and os.path.exists(str(path)):
            os.unlink(str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_files.os, "open", deleting_open)
    items = list(iter_documents([root]))
    assert kinds(items) == [("Document", "z.txt"), ("Document", "b.txt"), ("Document", "c.txt")]
    # given by name, a missing file is still an error
    (missing,) = iter_documents([root / "a.txt"])
    assert isinstance(missing, InvalidDocument) and missing.error == "no such file or directory"


def test_an_overlong_jsonl_line_is_refused_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_files, "MAX_LINE_BYTES", 100)
    path = tmp_path / "x.jsonl"
    data = (
        b'{"webUrl": "https://a.example/"}\n'
        + b'{"webUrl": "https://b.example/", "x": "'
        + b"y" * 3000
        + b'"}\n'
        + b'{"webUrl": "https://c.example/"}\n'
    )
    path.write_bytes(data)
    for items in (list(load_file(path)), list(parse_bytes(str(path), data, ".jsonl"))):
        assert [type(i) for i in items] == [Document, InvalidDocument, Document]
        assert items[1].line == 2 and "over the 100-byte limit" in items[1].error
        assert items[2].line == 3


def test_a_folder_deleted_while_walking_is_gone_not_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "corpus")
    real = os.scandir

    def deleting_scandir(path: object = ".") -> object:
        if isinstance(path, str | Path) and Path(path) == root / "sub":
            shutil.rmtree(root / "sub")
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", deleting_scandir)
    items = list(iter_documents([root]))
    assert kinds(items) == [("Document", "a.txt"), ("Document", "z.txt")]


def test_a_bom_at_the_start_of_any_jsonl_line_is_dropped(tmp_path: Path) -> None:
    """`cat a.jsonl b.jsonl`: each part brings its byte-order mark."""
    data = (
        b'\xef\xbb\xbf{"webUrl": "https://a.example/"}\n'
        b'\xef\xbb\xbf{"webUrl": "https://b.example/"}\n'
        b"\xef\xbb\xbf\n"
    )
    path = tmp_path / "joined.jsonl"
    path.write_bytes(data)
    for items in (list(load_file(path)), list(parse_bytes(str(path), data, ".jsonl"))):
        assert [type(i) for i in items] == [Document, Document]
        assert [i.line for i in items] == [1, 2]
