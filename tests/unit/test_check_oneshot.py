"""The report assembler: input order, each article once, results freed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from monitor.check.assembler import Assembler
from monitor.check.oneshot import requestable, static_result
from monitor.check.report import ArticleEntry, Tally, TargetRow
from monitor.corpus.article import InvalidDocument
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Kind, Origin, Outcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.written: list[tuple[str, list[str]]] = []

    def begin(self, invalid: list[InvalidDocument]) -> None:
        pass

    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.written.append((entry.id, [r.url for r in rows]))

    def finish(self, tally: Tally, elapsed_s: float) -> None:
        pass


def entries_of(url_sets: list[list[int]]) -> list[ArticleEntry]:
    entries = []
    for n, urls in enumerate(url_sets):
        refs = [
            (f"https://h.example/{u}", TargetRef(f"{n:016x}", Kind.IMAGE, Origin.ARTICLE))
            for u in urls
        ]
        entries.append(ArticleEntry(f"{n:016x}", "s", n + 1, f"https://a/{n}", None, [], refs))
    return entries


def result(url: str) -> CheckResult:
    return CheckResult(url, Kind.IMAGE, Outcome.OK, NOW)


@given(
    st.lists(st.lists(st.integers(0, 12), max_size=4), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
    st.integers(0, 100),
)
def test_any_completion_order_writes_every_article_once_in_order(
    url_sets: list[list[int]], rnd: object, early_percent: int
) -> None:
    """Results may arrive while articles are still being learnt (workers
    check while the corpus loads): nothing is written until it is complete.
    Then each article is written as soon as it and every one before it have
    all their results (the report streams: memory follows the run's window),
    whichever URL's result came last."""
    entries = entries_of(url_sets)
    writer = Recorder()
    asm = Assembler(writer, Tally())
    urls: list[str] = []
    for entry in entries:
        urls.extend(url for url, _ in asm.learn(entry))
    assert sorted(urls) == sorted({url for e in entries for url, _ in e.refs})  # each once
    rnd.shuffle(urls)  # type: ignore[attr-defined]
    early = len(urls) * early_percent // 100
    for url in urls[:early]:
        asm.add(url, result(url))
    assert writer.written == []  # the corpus is not complete yet
    asm.complete = True
    asm.flush()
    have = set(urls[:early])

    def writable() -> int:  # the leading articles with every result in
        done = 0
        while done < len(entries) and all(u in have for u, _ in entries[done].refs):
            done += 1
        return done

    assert len(writer.written) == writable()
    for url in urls[early:]:
        asm.add(url, result(url))
        have.add(url)
        assert len(writer.written) == writable()
    assert len(writer.written) == len(entries)  # all written before the end's forced flush
    asm.flush(force=True)
    assert [aid for aid, _ in writer.written] == [e.id for e in entries]
    for (_, rows), entry in zip(writer.written, entries, strict=True):
        assert rows == [url for url, _ in entry.refs]  # every target, none left out
    assert asm.results == {} and asm.last == {}  # nothing held once every article is written


def test_learn_reports_a_url_once_with_its_first_kind() -> None:
    asm = Assembler(Recorder(), Tally())
    first = ArticleEntry(
        "a",
        "s",
        1,
        "https://a/",
        None,
        [],
        [("https://x/", TargetRef("a", Kind.WEB, Origin.ARTICLE))],
    )
    second = ArticleEntry(
        "b",
        "s",
        2,
        "https://b/",
        None,
        [],
        [("https://x/", TargetRef("b", Kind.AMP, Origin.RELATED))],
    )
    assert asm.learn(first) == [("https://x/", Kind.WEB)]
    assert asm.learn(second) == []


def test_cut_short_run_writes_finished_targets_only() -> None:
    writer = Recorder()
    asm = Assembler(writer, Tally())
    for entry in entries_of([[1, 2], [2, 3]]):
        asm.learn(entry)
    asm.complete = True
    asm.add("https://h.example/2", result("https://h.example/2"))
    assert writer.written == []  # the first article still waits for /1
    asm.flush(force=True)
    assert writer.written == [
        ("0000000000000000", ["https://h.example/2"]),
        ("0000000000000001", ["https://h.example/2"]),
    ]


def test_a_run_cut_short_while_loading_writes_what_was_read() -> None:
    writer = Recorder()
    asm = Assembler(writer, Tally())
    for entry in entries_of([[1], [2]]):
        asm.learn(entry)
    asm.add("https://h.example/2", result("https://h.example/2"))
    asm.flush()
    assert writer.written == []
    asm.flush(force=True)  # Ctrl-C before the corpus was read to the end
    assert writer.written == [
        ("0000000000000000", []),
        ("0000000000000001", ["https://h.example/2"]),
    ]


def test_static_result_only_for_urls_that_cannot_be_requested() -> None:
    assert static_result("https://a.example/x", Kind.WEB, NOW) is None
    for bad in ("ftp://a.example/x", "https:///nohost", "http://a.example:99999/", "mailto:x@y"):
        r = static_result(bad, Kind.IMAGE, NOW)
        assert r is not None and r.outcome is Outcome.INVALID_URL, bad


def _slow_requestable(url: str) -> bool:
    from monitor import urls

    return urls._problem.__wrapped__(url) is None  # the one rule, without its fast path


url_like = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:/", "", "https://u:p@"]),
    st.text(alphabet="abc.-_:[]0123456789@", max_size=12),
    st.text(alphabet="/?#:x%20 ", max_size=8),
)


@given(url_like | st.text(max_size=30))
def test_requestable_fast_path_agrees_with_a_full_parse(url: str) -> None:
    assert requestable(url) == _slow_requestable(url)
