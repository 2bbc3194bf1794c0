"""The spill store of invalid documents (monitor/check/invalid_spill.py): every
document comes back, in order, across the memory/disk boundary; a temporary
file that cannot be made keeps them in memory and says so once; and every
report writer writes from it exactly what it writes from a list."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from monitor.check.invalid_spill import InvalidList, InvalidSpill
from monitor.check.report import JsonWriter, JunitWriter, MarkdownWriter, TableWriter, Tally
from monitor.check.spill import Sizes
from monitor.corpus.article import InvalidDocument

N = 5


def docs(count: int, start: int = 1) -> list[InvalidDocument]:
    return [
        InvalidDocument("bad.jsonl", n, f"invalid JSON on line {n}")
        for n in range(start, start + count)
    ]


def sizes(kept: int, chunk: int, chars: int = 1 << 40) -> Sizes:
    return Sizes(kept=kept, kept_chars=chars, chunk=chunk, chunk_chars=chars)


def filled(items: list[InvalidDocument], limits: Sizes) -> InvalidSpill:
    store = InvalidSpill(limits)
    for d in items:
        store.append(d)
    return store


def test_empty() -> None:
    store = InvalidSpill(sizes(N, 2))
    assert len(store) == 0 and not store
    assert list(store) == [] and store.spilled == 0


@pytest.mark.parametrize("count", [1, N - 1, N])
def test_up_to_the_kept_count_nothing_goes_to_disk(count: int) -> None:
    with filled(docs(count), sizes(N, 2)) as store:
        assert store.spilled == 0
        assert list(store) == docs(count) and len(store) == count


def test_one_past_the_kept_count_goes_to_disk_in_order() -> None:
    with filled(docs(N + 1), sizes(N, 1)) as store:
        assert store.spilled == 1
        assert list(store) == docs(N + 1) and len(store) == N + 1


def test_an_unwritten_part_chunk_comes_after_the_written_ones() -> None:
    items = docs(N + 7)
    with filled(items, sizes(N, 3)) as store:
        assert store.spilled == 2  # 6 on disk, 1 waiting
        assert list(store) == items
        assert list(store) == items  # read back again: the same


def test_long_texts_go_to_disk_before_the_count_is_reached() -> None:
    big = [InvalidDocument("a.json", n, "x" * 1000) for n in range(1, 30)]
    with filled(big, Sizes(kept=1_000, kept_chars=5_000, chunk=1_000, chunk_chars=3_000)) as store:
        assert store.spilled > 0
        assert list(store) == big


texts = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates, NUL too
documents = st.lists(
    st.builds(InvalidDocument, texts, st.none() | st.integers(0, 2**40), texts), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(
    items=documents,
    kept=st.integers(0, 8),
    chunk=st.integers(1, 8),
    chars=st.integers(1, 200),
)
def test_every_document_comes_back_in_order(
    items: list[InvalidDocument], kept: int, chunk: int, chars: int
) -> None:
    with filled(items, sizes(kept, chunk, chars)) as store:
        assert len(store) == len(items)
        assert list(store) == items


@pytest.mark.parametrize("folder", ["missing", "a-file"])
def test_a_folder_that_takes_no_file_keeps_them_in_memory_and_says_so_once(
    tmp_path: Path, folder: str
) -> None:
    (tmp_path / "a-file").write_text("")
    said: list[str] = []
    where = str(tmp_path / folder)
    store = InvalidSpill(sizes(2, 2), folder=where, warn=said.append)
    items = docs(20)
    for d in items:
        store.append(d)
    assert list(store) == items and len(store) == 20
    assert len(said) == 1, said
    assert said[0].startswith("Warning: cannot write invalid documents to a temporary file")
    assert where in said[0] and "TMPDIR" in said[0]


def _report(make: type, invalid: InvalidList, incomplete: bool) -> str:
    out = io.StringIO()
    writer = make(Console(file=out, width=160)) if make is TableWriter else make(out)
    tally = Tally(incomplete=incomplete)
    tally.add_invalid(len(invalid))
    writer.begin(invalid)
    writer.finish(tally, 0.5)
    return out.getvalue()


@pytest.mark.parametrize("make", [JsonWriter, JunitWriter, MarkdownWriter, TableWriter])
@pytest.mark.parametrize("count", [0, 1, 2_500])
def test_every_writer_writes_the_same_report_from_the_store_as_from_a_list(
    make: type, count: int
) -> None:
    items = [
        InvalidDocument(f"dir/<{n % 3}>|\x1b.jsonl", n or None, f'bad "{n}" & \ud800 <x>')
        for n in range(count)
    ]
    with filled(items, sizes(7, 100)) as store:
        for incomplete in (False, True):
            assert _report(make, store, incomplete) == _report(make, items, incomplete)
