"""Page heads built to make the parser quadratic (second hostile review).

A head that repeats an unclosed construct (`<meta `, `<a `, `<!-- `, `<h1 `)
made html.parser, and the body's <h1> scan, rescan to the end from each one:
20,000 `<meta ` held the event loop 88 s, 80,000 `<!-- ` 53 s, and a full
512 KiB page would take many minutes, with `--timeout` powerless (pure CPU on
the loop). Each case is a whole 512 KiB prefix under a hang guard far above
what a linear parse needs and far below what the quadratic one took; the
facts must still be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from monitor.content.html import head_facts

CAP = 512 * 1024
HEAD = b"<html><head><title>Story</title><link rel=canonical href=/story>"


def page(junk: bytes, *, body: bool = False) -> bytes:
    start = HEAD + (b"</head><body>" if body else b"")
    return start + junk * ((CAP - len(start)) // len(junk))


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "junk", [b"<meta ", b"<link ", b"<a ", b"<!-- ", b"<meta content=x ", b"<title "]
)
def test_a_head_of_unclosed_tags_is_read_in_bounded_time(junk: bytes) -> None:
    facts = head_facts(page(junk), base_url="http://news.test/")
    assert facts.title == "Story"
    assert facts.canonical == "http://news.test/story"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("junk", [b"<h1 ", b"<h1>x", b"<script ", b"<!-- ", b"<style>"])
def test_a_body_of_unclosed_tags_is_scanned_in_bounded_time(junk: bytes) -> None:
    facts = head_facts(page(junk, body=True), base_url="http://news.test/")
    assert facts.title == "Story" and facts.h1 is None


def test_a_few_unclosed_tags_are_still_read_as_html_parser_reads_them() -> None:
    """Below the junk threshold nothing is rewritten: a `<` inside an attribute
    value and a comment holding tags read as before."""
    head = (
        b"<html><head><meta name=description content='a<b and c<d'>"
        b"<!-- <link rel=canonical href=/comment> --><title>T</title></head>"
    )
    facts = head_facts(head, base_url="http://news.test/")
    assert facts.title == "T" and facts.canonical is None


class _Counted(str):
    """A text that counts the characters its rfind calls look at."""

    scanned = 0

    def rfind(self, sub: str, *args: int | None) -> int:  # type: ignore[override]
        start = args[0] or 0 if args else 0
        end = args[1] if len(args) > 1 and args[1] is not None else len(self)
        _Counted.scanned += max(0, end - start)
        return super().rfind(sub, *args)


@pytest.mark.parametrize("word", ["description", "og:title", "article:published_time"])
def test_the_meta_scan_looks_back_over_each_character_a_bounded_number_of_times(
    word: str,
) -> None:
    """A key word repeated after one `<` ("<meta description> description> ...")
    sent the look-back for each one's `<` to the start of the head: 40,000 of
    them took 136 ms of CPU on 512 KiB (quadratic); each look-back now ends
    where the previous one began."""
    from monitor.content.html import head_metas

    junk = f"{word}> "
    text = "<html><head><meta " + junk * (CAP // len(junk))
    _Counted.scanned = 0
    assert head_metas(_Counted(text), len(text)) == {}
    assert _Counted.scanned <= 4 * len(text)


class _CountingFinder:
    """A stand-in for a compiled pattern whose finditer counts the matches taken."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.taken = 0

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        for found in self.pattern.finditer(text):
            self.taken += 1
            yield found

    def sub(self, repl: str, text: str) -> str:
        return self.pattern.sub(repl, text)


def test_an_unclosed_script_of_lt_signs_is_counted_and_fed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`<head><script>` then 512 KiB of `<`: the parser's fallback counted every
    unclosed `<` (512,000 regex matches) to learn there were more than 64, and
    fed html.parser 8 KiB at a time, each feed rescanning the whole unclosed
    script for its end (quadratic): 194 ms of CPU, now 75 ms."""
    from monitor.content import head_parser

    counting = _CountingFinder(head_parser._UNCLOSED)
    monkeypatch.setattr(head_parser, "_UNCLOSED", counting)
    feeds: list[int] = []
    real_feed = head_parser._HeadParser.feed

    def feed(self: head_parser._HeadParser, data: str) -> None:
        feeds.append(len(data))
        real_feed(self, data)

    monkeypatch.setattr(head_parser._HeadParser, "feed", feed)
    text = "<html><head><title>Story</title><script>" + "<" * CAP
    got = head_parser.slow_head(text)
    assert got.title == "Story"
    assert counting.taken <= head_parser._UNCLOSED_MAX + 1
    assert len(feeds) == 1


@pytest.mark.parametrize("junk", [" 1 < 2 <", " &lt; 1 < 2 <", "\n<a <"])
def test_where_the_head_ends_is_an_index_in_the_page_after_the_fallback_escapes(
    junk: str,
) -> None:
    """Past 64 unclosed `<` the fallback reads each as text (`&lt;`, 3 characters
    longer), and gave where the head ended in that text: after 100 of them the
    index ran past the page's end, so its <h1> and its text mark were lost and
    the body's <meta>s were read as the head's."""
    body = "<body><h1>The heading</h1><p>" + "word " * 100
    text = "<html><head><title>T</title>" + junk * 100 + " &lt; </head>" + body
    facts = head_facts(text.encode(), base_url="http://a.test/", text_hash=True)
    assert facts.h1 == "The heading"
    assert facts.text_hash is not None
    from monitor.content.head_parser import slow_head

    assert slow_head(text).head_end == text.index("</head>")


class _CountingMatcher:
    """A stand-in for a compiled pattern that counts its match calls."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        self.calls += 1
        return self.pattern.match(text, pos)


@pytest.mark.parametrize("junk", ["<!--x", "<style>", "<script>x", "<STYLE><!--<Style>"])
def test_the_h1_scan_steps_over_constructs_known_to_fail_in_the_search(
    junk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one unclosed `<!--` (or `<style>`) fails, each later one of the same
    spelling fails too: they were each a turn of the scan's loop (100,000 of
    them, 70 ms of CPU); the search now leaves them out."""
    from monitor.content import html as html_module

    counting = _CountingMatcher(html_module._KIND)
    monkeypatch.setattr(html_module, "_KIND", counting)
    text = junk * (CAP // len(junk)) + "<h1>Late</h1>"
    assert html_module.first_h1(text) == "Late"
    assert counting.calls <= 8


@pytest.mark.parametrize("nul", ["", "\x00"])
def test_a_lt_sign_read_as_text_by_the_fallback_stays_a_lt_sign(nul: str) -> None:
    """The fallback reads unclosed `<` as text (past 64): the title keeps them as
    `<`, whichever stand-in it used (`&lt;` cost an unescape each: 500,000 of
    them were 270 ms of CPU, now 45)."""
    from monitor.content.head_parser import slow_head

    text = (
        "<html><head><title>1 < 2 and 3 <4</title><link rel=canonical href='/a<b'"
        + nul
        + " 1 < 2 <" * 100
        + "</head><body>"
    )
    got = slow_head(text)
    assert got.title == "1 < 2 and 3 <4"
    assert got.head_end == text.index("</head>")
