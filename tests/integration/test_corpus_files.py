"""The corpus loader over real files: the bundled examples, directory walking, big files."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support.fsfaults import PERMISSIONS_IGNORED
from support.traced import traced

from monitor import corpus
from monitor.corpus import files as corpus_files
from monitor.corpus import iter_documents, iter_files, json_stream
from monitor.corpus.article import Document, InvalidDocument
from monitor.rules.ampcache import amp_cache_url

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ROOT / "examples" / "articles"
BROKEN = ROOT / "examples" / "broken"

Item = Document | InvalidDocument


def by_file(items: list[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for item in items:
        out.setdefault(Path(item.source).name, []).append(item)
    return out


# --- examples/articles ------------------------------------------------------------


def test_every_example_article_is_valid() -> None:
    items = list(iter_documents([ARTICLES]))
    bad = [i for i in items if isinstance(i, InvalidDocument)]
    assert bad == []
    assert len(items) >= 18
    files = {p.name for p in ARTICLES.iterdir()}
    assert set(by_file(items)) == files  # every file contributes
    assert "000_6c3b12078d9965ad.txt" in files
    suffixes = Counter(p.suffix for p in ARTICLES.iterdir())
    assert {".txt", ".md", ".yaml", ".yml", ".json", ".jsonl"} <= set(suffixes)


def test_example_articles_cover_the_interesting_shapes() -> None:
    docs = [i for i in iter_documents([ARTICLES]) if isinstance(i, Document)]
    assert len({d.article.webUrl for d in docs}) == len(docs)
    assert len({d.article.provider.domain for d in docs if d.article.provider}) >= 12
    assert any(d.article.ampWebUrl is None and d.raw.get("cdnAmpWebUrl", 0) is None for d in docs)
    assert any(len(d.article.images) >= 3 for d in docs)
    assert any(len(d.article.related) >= 2 for d in docs)
    assert all(d.article.provider and d.article.provider.images for d in docs)
    wrappers = json.loads((ARTICLES / "011_feed_news.json").read_text())
    assert isinstance(wrappers["news"], list)
    assert isinstance(json.loads((ARTICLES / "010_batch_list.json").read_text()), list)


def test_example_cdn_urls_are_the_amp_cache_urls() -> None:
    checked = 0
    for item in iter_documents([ARTICLES]):
        assert isinstance(item, Document)
        for rec in [item.article, *item.article.related]:
            if rec.ampWebUrl is not None:
                assert rec.cdnAmpWebUrl == amp_cache_url(rec.ampWebUrl), item.source
                checked += 1
            else:
                assert rec.cdnAmpWebUrl is None
    assert checked >= 15


def test_json_list_and_feed_lines_point_at_records() -> None:
    items = by_file(list(iter_documents([ARTICLES])))
    for name in ("010_batch_list.json", "011_feed_news.json"):
        lines = (ARTICLES / name).read_text().splitlines()
        for item in items[name]:
            assert lines[item.line - 1].strip() == "{", (name, item.line)
    assert [i.line for i in items["012_stream.jsonl"]] == [1, 2, 3, 4]


# --- examples/broken --------------------------------------------------------------

# file → what each of its records must be: (line, fragment of the error) for an
# InvalidDocument, or None for a valid Document (with static-check problems).
EXPECTED_BROKEN: dict[str, list[tuple[int | None, str] | None]] = {
    "bad_json.json": [None, (3, "remove the trailing comma")],
    "bad_yaml.txt": [(9, "invalid YAML")],
    "billion_laughs.yaml": [(9, "billion laughs")],
    "binary_garbage.txt": [(3, "binary data: NUL byte at byte offset 8")],
    "cdn_mismatch.txt": [None],
    "duplicate_1.txt": [None],
    "duplicate_2.json": [None],
    "empty.txt": [(1, "empty file")],
    "ftp_image.txt": [None],
    "list_front_matter.txt": [(2, "front matter is a list")],
    "missing_weburl.txt": [(2, "missing required field webUrl")],
    "mixed.jsonl": [
        None,
        (3, "the JSONL line is a list"),
        (4, "invalid JSON on this line: Unterminated string"),
        (5, "scheme 'ftp'"),
        (6, "field images.0.width: expected an integer, got '1200px'"),
    ],
    "not_utf8.txt": [(2, "not valid UTF-8: byte 0xc9 at byte offset 12")],
    "provider_mismatch.txt": [None],
    "published_in_future.txt": [None],
    "relative_weburl.yaml": [(4, "has no scheme")],
    "unclosed_front_matter.md": [(1, "never closed")],
    "wrong_types.txt": [(11, "field images.1.width: expected an integer, got 'abc'")],
}


def test_broken_examples_fail_as_documented() -> None:
    items = by_file(list(iter_documents([BROKEN])))
    assert set(items) == set(EXPECTED_BROKEN) == {p.name for p in BROKEN.iterdir()}
    for name, expected in EXPECTED_BROKEN.items():
        got = items[name]
        assert len(got) == len(expected), (name, got)
        for item, want in zip(got, expected, strict=True):
            if want is None:
                assert isinstance(item, Document), (name, item)
                continue
            assert isinstance(item, InvalidDocument), (name, item)
            line, fragment = want
            assert (item.line, fragment in item.error) == (line, True), (name, item)


def test_broken_valid_records_carry_the_documented_problems() -> None:
    docs = {Path(i.source).name: i for i in iter_documents([BROKEN]) if isinstance(i, Document)}
    cdn = docs["cdn_mismatch.txt"].article
    assert cdn.ampWebUrl and cdn.cdnAmpWebUrl != amp_cache_url(cdn.ampWebUrl)
    prov = docs["provider_mismatch.txt"].article
    assert prov.provider and prov.provider.domain == "wired.com"
    assert "arstechnica.com" in prov.webUrl
    fut = docs["published_in_future.txt"].article
    assert fut.publishedDateTime and fut.publishedDateTime.year == 2099
    assert docs["duplicate_1.txt"].article.webUrl == docs["duplicate_2.json"].article.webUrl
    assert docs["ftp_image.txt"].article.images[0].url.startswith("ftp://")


# --- walking ------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def article(n: int) -> str:
    return f'---\nwebUrl: "https://news{n}.example.com/a"\n---\n'


def test_walk_is_sorted_recursive_filtered_and_skips_hidden(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", article(1))
    write(tmp_path / "a.md", article(2))
    write(tmp_path / "sub" / "c.jsonl", '{"webUrl": "https://c.example.com/"}\n')
    write(tmp_path / "sub" / "deeper" / "d.JSON", '{"webUrl": "https://d.example.com/"}')
    write(tmp_path / "a_dir" / "e.ndjson", '{"webUrl": "https://e.example.com/"}\n')
    write(tmp_path / ".git" / "x.txt", "not a corpus file")
    write(tmp_path / ".hidden.txt", "not a corpus file")
    write(tmp_path / "notes.rst", "ignored suffix")
    write(tmp_path / "image.png", "ignored suffix")
    got = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert got == ["a.md", "b.txt", "a_dir/e.ndjson", "sub/c.jsonl", "sub/deeper/d.JSON"]
    items = list(iter_documents([tmp_path]))
    assert all(isinstance(i, Document) for i in items) and len(items) == 5


def test_explicit_files_are_read_whatever_their_suffix_and_only_once(tmp_path: Path) -> None:
    odd = write(tmp_path / "article.front", article(1))
    normal = write(tmp_path / "x.txt", article(2))
    paths = [odd, tmp_path, normal, Path(str(normal))]
    got = list(iter_files(paths))
    assert got == [odd, normal]
    assert [type(i) for i in iter_documents(paths)] == [Document, Document]


def test_overlapping_arguments_yield_each_file_once(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", article(1))
    write(tmp_path / "sub" / "b.txt", article(2))
    write(tmp_path / "sub" / "deeper" / "c.txt", article(3))
    got = iter_files(
        [tmp_path / "sub", tmp_path / "sub" / "deeper" / "c.txt", tmp_path, tmp_path / "sub"]
    )
    names = [p.relative_to(tmp_path).as_posix() for p in got]
    assert names == ["sub/b.txt", "sub/deeper/c.txt", "a.txt"]
    explicit_first = iter_files([tmp_path / "a.txt", tmp_path])
    names = [p.relative_to(tmp_path).as_posix() for p in explicit_first]
    assert names == ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]


def test_missing_path_is_an_invalid_document_and_the_rest_go_on(tmp_path: Path) -> None:
    good = write(tmp_path / "x.txt", article(1))
    items = list(iter_documents([tmp_path / "nope", good, "also-missing.json"]))
    assert [type(i) for i in items] == [InvalidDocument, Document, InvalidDocument]
    assert items[0] == InvalidDocument(str(tmp_path / "nope"), None, "no such file or directory")
    assert items[2].source == "also-missing.json"


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="this process reads any file (root)")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.txt", article(1))
    locked.chmod(0)
    try:
        (item,) = iter_documents([locked])
    finally:
        locked.chmod(0o600)
    assert isinstance(item, InvalidDocument)
    assert "permission denied" in item.error


def test_fifo_is_reported_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "stuck.txt"
    os.mkfifo(fifo)
    write(tmp_path / "ok.txt", article(1))
    items = list(iter_documents([tmp_path]))  # reading the FIFO would block forever
    assert [type(i) for i in items] == [Document, InvalidDocument]
    assert items[1].source == str(fifo) and "not a regular file" in items[1].error


def test_jsonl_decoding_errors_are_per_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"webUrl": "https://a.example.com/"}\r\n'
        b'{"webUrl": "https://b.example.com/", "title": "caf\xe9"}\n'
        b'{"webUrl": "https://c.example.com/"}\n'
    )
    items = list(iter_documents([path]))
    assert [type(i) for i in items] == [Document, InvalidDocument, Document]
    bad = items[1]
    assert isinstance(bad, InvalidDocument) and bad.line == 2
    assert "not valid UTF-8: byte 0xe9 at byte offset 91" in bad.error


def test_binary_jsonl_stops_at_the_first_nul(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"webUrl": "https://a.example.com/"}\n' + b"\x00\xff\n" * 1000)
    items = list(iter_documents([path]))
    assert [type(i) for i in items] == [Document, InvalidDocument]
    assert items[1].line == 2 and "binary data" in items[1].error


def test_whole_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_files, "MAX_FILE_BYTES", 100)
    big = write(
        tmp_path / "big.json", json.dumps({"webUrl": "https://a.example.com/", "x": "y" * 200})
    )
    (item,) = iter_documents([big])
    assert isinstance(item, InvalidDocument) and "use JSON Lines" in item.error


# --- size and streaming -------------------------------------------------------------


def record(i: int, pad: int) -> dict[str, object]:
    return {
        "webUrl": f"https://www.example{i % 97}.com/2021/{i}/story",
        "ampWebUrl": None,
        "title": f"Story {i}",
        "publishedDateTime": "2021-05-01T10:00:00Z",
        "provider": {"name": "Example", "domain": f"example{i % 97}.com"},
        "images": [{"url": f"https://img.example.com/{i}.jpg", "width": 800, "height": 450}],
        "excerpt": "x" * pad,
    }


FIFTY_MB = 50 * 1024 * 1024


def write_big(path: Path, *, pad: int, as_list: bool) -> int:
    count = 0
    size = 0
    with path.open("w", encoding="utf-8") as fh:
        if as_list:
            fh.write("[\n")
        while size < FIFTY_MB:
            line = json.dumps(record(count, pad))
            if as_list:
                line = ("" if count == 0 else ",\n") + line
            else:
                line += "\n"
            fh.write(line)
            size += len(line)
            count += 1
        if as_list:
            fh.write("\n]\n")
    return count


@pytest.mark.parametrize("as_list", [False, True], ids=["jsonl", "json-list"])
def test_fifty_megabytes_of_large_records(
    tmp_path: Path, as_list: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ("big.json" if as_list else "big.jsonl")
    count = write_big(path, pad=20_000, as_list=as_list)
    read = count_bytes_read(monkeypatch)
    seen = 0
    last_line = 0
    for item in iter_documents([path]):
        assert isinstance(item, Document)
        assert item.line > last_line
        last_line = item.line
        seen += 1
    assert seen == count
    assert last_line == count + (1 if as_list else 0)
    # linear by construction, not by the clock: every byte is read once (a `.json`
    # file twice: a first pass checks that it is all UTF-8 text, then the window reads it)
    assert read == [path.stat().st_size * (2 if as_list else 1)]


class _CountingReader:
    """A file whose reads are counted (bytes handed to the parser)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.bytes = 0

    def read(self, *args: Any) -> bytes:
        data: bytes = self.fh.read(*args)
        self.bytes += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data: bytes = self.fh.readline(*args)
        self.bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n: int = self.fh.readinto(buffer) or 0
        self.bytes += n
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)


def count_bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes read from each corpus file opened from now on, in order."""
    totals: list[int] = []
    opener = corpus.open_regular

    @contextmanager
    def counted(path: Path) -> Iterator[tuple[os.stat_result, Any]]:
        with opener(path) as (st, fh):
            reader = _CountingReader(fh)
            try:
                yield st, reader
            finally:
                totals.append(reader.bytes)

    monkeypatch.setattr(corpus, "open_regular", counted)
    return totals


def test_oversized_front_matter_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    excerpt = ("All work and no play makes Jack a dull boy. " * 1000 + "\n").replace('"', "")
    with path.open("w", encoding="utf-8") as fh:
        fh.write('---\nwebUrl: "https://a.example.com/"\nimages:\n')
        for i in range(20):
            fh.write(f'  - url: "https://img.example.com/{i}.jpg"\n    width: 10\n    height: 10\n')
        fh.write("excerpt: >\n")
        for _ in range(250):  # ~11 MB of folded text
            fh.write("  " + excerpt)
        fh.write("---\nbody\n")
    (item,) = iter_documents([path])
    assert isinstance(item, Document)
    assert len(item.article.images) == 20
    assert len(item.raw["excerpt"]) > 10_000_000


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_memory_does_not_grow_with_the_number_of_records(tmp_path: Path, suffix: str) -> None:
    """The loader holds one record at a time (plus, for .json, a window of its text:
    it held the whole text, and the bytes before it)."""
    path = tmp_path / f"many{suffix}"
    lines = [json.dumps(record(i, 200)) for i in range(12_000)]
    if suffix == ".json":
        path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    else:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = path.stat().st_size
    del lines
    with traced() as mem:
        seen = sum(1 for _ in iter_documents([path]))
    assert seen == 12_000
    assert size > 5 * 1024 * 1024
    window = 0 if suffix == ".jsonl" else 4 * json_stream.CHUNK  # .json: chunks of bytes, text
    assert mem.peak < window + 1024 * 1024, mem  # 12,000 kept Documents would need ~36 MB


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_fifty_megabytes_of_small_records(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"many{suffix}"
    count = write_big(path, pad=200, as_list=suffix == ".json")
    assert sum(1 for i in iter_documents([path]) if isinstance(i, Document)) == count


def test_module_interface_is_importable() -> None:
    assert callable(corpus.iter_documents)
    assert callable(corpus.parse_text)
    assert callable(corpus.iter_files)
