"""The articles of a `check` run wait for the report in bounded memory
(monitor/check/entry_store.py): an entry survives its row form and the disk
unchanged, comes back in input order with its duplicates, and a temporary
file that cannot be made keeps the entries in memory and says so once."""

from __future__ import annotations

import marshal
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.check import entry_row
from monitor.check.entry_store import SIZES, EntryStore
from monitor.check.report import ArticleEntry
from monitor.check.spill import Sizes
from monitor.corpus.article import Article, Document
from monitor.rules.static import DocIdentity
from monitor.targets import TargetRef
from monitor.vocabulary import (
    Expectation,
    Kind,
    Origin,
    Problem,
    ProblemCode,
    SignatureResult,
    SignatureStatus,
)

texts = st.text(st.characters(exclude_categories=()), max_size=30)  # lone surrogates, NUL too
maybe_text = st.none() | texts
numbers = st.none() | st.integers(-(2**40), 2**40)


def every_field(cls: type[Any], **given: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`cls` with a value drawn for each of its fields, read from the class: one
    added later is drawn too (from its type), so a row form that drops it fails
    the round trip. `given`: the strategies of the fields named."""
    names = cls._fields if issubclass(cls, tuple) else [f.name for f in fields(cls)]
    return st.builds(cls, **{name: given.get(name, ...) for name in names})


expectations = every_field(
    Expectation,
    canonical=maybe_text,
    amphtml=maybe_text,
    width=numbers,
    height=numbers,
    title=maybe_text,
    excerpt=maybe_text,
)
problems = every_field(Problem, message=texts, field=maybe_text)
signatures = every_field(
    SignatureResult,
    fields=st.lists(texts, max_size=3).map(tuple),
    detail=texts,
    kid=maybe_text,
    envelope=maybe_text,
)


@st.composite
def pairs(draw: st.DrawFn) -> entry_row.Pair:
    aid = draw(texts)
    ref = every_field(
        TargetRef,
        article_id=st.just(aid) | texts,  # a reference's article is its entry's, or not
        expectation=st.just(Expectation()) | expectations,
        path=texts,
    )
    entry = draw(
        every_field(
            ArticleEntry,
            id=st.just(aid),
            source=texts,
            line=st.integers(-(2**70), 2**70),
            web_url=texts,
            signature=st.none() | signatures,
            problems=st.lists(problems, max_size=4),
            refs=st.lists(st.tuples(texts, ref), max_size=5),
        )
    )
    keys = st.binary(min_size=16, max_size=16)
    identity = st.none() | every_field(
        DocIdentity,  # its source, line and webUrl are its entry's
        source=st.just(entry.source),
        line=st.just(entry.line),
        web_url=st.just(entry.web_url),
        amp_url=maybe_text,
        web_key=keys,
        amp_key=st.none() | keys,
    )
    return entry, draw(identity)


def round_trip(pair: entry_row.Pair) -> entry_row.Pair:
    """The pair as it comes back from the disk."""
    return entry_row.from_row(marshal.loads(marshal.dumps(entry_row.to_row(pair))))


@settings(max_examples=200, deadline=None)
@given(pairs())
def test_an_entry_comes_back_from_its_row_unchanged(pair: entry_row.Pair) -> None:
    assert round_trip(pair) == pair


@pytest.mark.parametrize("status", [None, *SignatureStatus])
def test_every_kind_origin_problem_code_and_signature_status_comes_back(
    status: SignatureStatus | None,
) -> None:
    refs = [
        (f"https://news.example/{kind}/{origin}", TargetRef(aid, kind, origin, Expectation(), "p"))
        for kind in Kind
        for origin in Origin
        for aid in ("a", "another")
    ]
    problems = [Problem(code, f"said of {code}") for code in ProblemCode]
    signature = None if status is None else SignatureResult(status)
    entry = ArticleEntry("a", "c.jsonl", 1, "https://news.example/", signature, problems, refs)
    assert round_trip((entry, None)) == (entry, None)


def sizes(kept: int, chunk: int, chars: int = 1 << 40) -> Sizes:
    return Sizes(kept=kept, kept_chars=chars, chunk=chunk, chunk_chars=chars)


def entry(n: int, web: str | None = None) -> tuple[ArticleEntry, DocIdentity]:
    web = web or f"https://news.example/{n}"
    doc = Document("c.jsonl", n, {}, Article(webUrl=web, title="t"))
    identity = DocIdentity.of(doc)
    ref = TargetRef(doc.id, Kind.WEB, Origin.ARTICLE, Expectation(title="t"), "webUrl")
    return ArticleEntry(doc.id, "c.jsonl", n, web, None, [], [(web, ref)]), identity


@settings(max_examples=40, deadline=None)
@given(
    webs=st.lists(st.integers(0, 6), max_size=40),
    kept=st.integers(0, 8),
    chunk=st.integers(1, 8),
    chars=st.integers(1, 2_000),
)
def test_entries_come_back_in_order_with_their_duplicates_across_the_disk_boundary(
    webs: list[int], kept: int, chunk: int, chars: int
) -> None:
    items = [entry(n, f"https://news.example/{w}") for n, w in enumerate(webs, 1)]
    whole = EntryStore(sizes(10**9, 1))  # never spills: what to expect
    store = EntryStore(sizes(kept, chunk, chars))
    with whole, store:
        for item in items:
            whole.add(*item)
            store.add(*item)
        assert whole.spilled == 0 and len(store) == len(items)
        expected = list(whole)
        dup_count = sum(1 for e in expected for p in e.problems if p.code.value == "duplicate_url")
        assert dup_count == sum(1 for w in webs if webs.count(w) > 1)
        assert list(store) == expected
        assert list(store) == expected  # read back again: the same
        assert list(store.drain()) == expected
        assert list(store.drain()) == [] and len(store) == 0  # drained: nothing kept


def test_past_the_kept_count_entries_go_to_disk() -> None:
    with EntryStore(sizes(3, 2)) as store:
        for n in range(1, 10):
            store.add(*entry(n))
        assert store.spilled == 3  # 3 kept, 6 on disk, none waiting
        assert [e.line for e in store.drain()] == list(range(1, 10))


@pytest.mark.parametrize("folder", ["missing", "a-file"])
def test_a_folder_that_takes_no_file_keeps_the_entries_in_memory_and_says_so_once(
    tmp_path: Path, folder: str
) -> None:
    (tmp_path / "a-file").write_text("")
    said: list[str] = []
    where = str(tmp_path / folder)
    items = [entry(n) for n in range(1, 21)]
    with EntryStore(sizes(2, 2), folder=where, warn=said.append) as store:
        for item in items:
            store.add(*item)
        assert store.spilled == 0
        assert list(store.drain()) == [e for e, _ in items]
    assert len(said) == 1, said
    assert said[0].startswith("Warning: cannot write articles to a temporary file")
    assert where in said[0] and "TMPDIR" in said[0]


def page_entry(n: int, excerpt: str) -> tuple[ArticleEntry, DocIdentity]:
    """An article whose web and AMP references carry its (shared) title and excerpt."""
    web, amp = f"https://news.example/{n}", f"https://news.example/amp/{n}"
    doc = Document("c.jsonl", n, {}, Article(webUrl=web, title="t"))
    title = f"Story {n}"
    on_web = Expectation(amphtml=amp, title=title, excerpt=excerpt)
    on_amp = Expectation(canonical=web, title=title, excerpt=excerpt)
    refs = [
        (web, TargetRef(doc.id, Kind.WEB, Origin.ARTICLE, on_web, "webUrl")),
        (amp, TargetRef(doc.id, Kind.AMP, Origin.ARTICLE, on_amp, "ampWebUrl")),
    ]
    return ArticleEntry(doc.id, "c.jsonl", n, web, None, [], refs), DocIdentity.of(doc)


def test_long_excerpts_count_toward_what_stays_in_memory() -> None:
    # an excerpt is held by the page references (content drift): 5,000 articles
    # of 100 KB excerpts were all kept in memory, their weight being their URLs
    excerpt = "x" * 100_000
    pair = page_entry(1, excerpt)
    assert len(excerpt) <= entry_row.size(pair) < 2 * len(excerpt)  # shared: counted once
    with EntryStore(replace(SIZES, kept_chars=1_000_000, chunk_chars=300_000)) as store:
        for n in range(1, 31):
            store.add(*page_entry(n, excerpt))
        assert store.spilled >= 5  # ~10 kept, then chunks of ~3
        assert [e.line for e in store.drain()] == list(range(1, 31))


@dataclass(frozen=True, slots=True)
class _Obj:
    _obj_: int
    b: int


@dataclass(frozen=True, slots=True)
class _New:
    _new_: int


@dataclass(frozen=True, slots=True)
class _Cls:
    _cls_: int


@dataclass(frozen=True, slots=True)
class _Setter:
    a: int
    _set_a: int


@pytest.mark.parametrize(
    ("cls", "name"), [(_Obj, "_obj_"), (_New, "_new_"), (_Cls, "_cls_"), (_Setter, "_set_a")]
)
def test_a_field_named_as_the_written_code_s_own_names_is_refused(
    cls: type[Any], name: str
) -> None:
    """The row and constructor are code written from the field names, with names
    of their own (_obj_, _new_, _cls_, _set_<field>): a field named so shadowed
    one, and an instance came back holding itself (`_obj_`) or failed at its
    first read (`_new_`); refused when the code is written instead."""
    with pytest.raises(TypeError, match=name):
        entry_row._by_slots(cls)
