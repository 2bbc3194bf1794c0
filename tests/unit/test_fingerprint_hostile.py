"""Hostile page bodies against the fingerprint (issue 15's hostile review)."""

from __future__ import annotations

import re

import pytest

from monitor.content.html import head_facts


@pytest.mark.parametrize("charset", [None, "utf-8", "windows-1252", "utf-16"])
def test_no_fact_of_the_fingerprint_holds_a_nul(charset: str | None) -> None:
    """PostgreSQL's text refuses NUL: a probe answer whose title held one was
    never kept (a DataError at every write). HTML reads NUL in a title as
    U+FFFD; so does the fingerprint, for every fact it keeps."""
    page = (
        "<html><head><title>a\x00b</title>"
        '<meta property="og:title" content="o\x00g">'
        '<meta name="description" content="d\x00e">'
        '<meta property="article:published_time" content="2020\x00-01-01">'
        "<link rel=canonical href='/c\x00'>"
        "</head><body><h1>h\x00</h1>"
    )
    data = page.encode(charset or "utf-8")
    facts = head_facts(data, base_url="https://n.test/a", charset=charset)
    kept = (
        facts.title,
        facts.closed_title,
        facts.og_title,
        facts.description,
        facts.published_time,
        facts.h1,
    )
    assert all(k is not None and "\x00" not in k for k in kept), kept
    assert facts.title == "a\ufffdb" and facts.h1 == "h\ufffd"


_ONE_NUL = {
    "title": "<title>a\x00b</title>",
    "og_title": '<meta property="og:title" content="o\x00g">',
    "description": '<meta name="description" content="d\x00e">',
    "published_time": '<meta property="article:published_time" content="2020\x00-01-01">',
    "h1": "</head><body><h1>h\x00</h1>",
}


@pytest.mark.parametrize("fact", sorted(_ONE_NUL))
def test_a_nul_in_one_fact_alone_is_read_as_u_fffd(fact: str) -> None:
    """Each fact on its own: the facts, not the whole page, are looked at for a
    NUL (a page's scan is no memchr once it holds any character past Latin-1,
    as the ⚡ here makes it)."""
    page = "<html ⚡><head>" + _ONE_NUL[fact] + "<link rel=canonical href='/c'>"
    facts = head_facts(page.encode(), base_url="https://n.test/a", charset="utf-8")
    value = getattr(facts, fact)
    assert value is not None and "\x00" not in value and "\ufffd" in value, value
    if fact == "title":
        assert facts.closed_title == facts.title


class _CountingPattern:
    """A stand-in for a compiled pattern that counts its fullmatch calls and the
    characters they were given."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0
        self.chars = 0

    def fullmatch(self, text: str) -> re.Match[str] | None:
        self.calls += 1
        self.chars += len(text)
        return self.pattern.fullmatch(text)


@pytest.mark.parametrize(
    "title",
    [
        "page not | " * 40_000 + "found",
        "error 404 page " * 30_000 + "found x",
        "x" * 2000 + " | Page not found",
    ],
    ids=["separators", "repeats", "long-site-name"],
)
def test_a_huge_title_costs_the_soft_404_judgement_a_bounded_work(
    title: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed <title> is judged whole (the fingerprint keeps 600 characters of
    it, the soft-404 check all): 40,000 site-name separators were 40,000
    pattern matches, 100 ms of CPU for one 512 KiB page. A not-found page says
    so in a few words: a title or heading past SOFT_404_MAX characters is not
    one."""
    from monitor.content import soft404

    phrases, separators, punctuation = soft404._patterns()
    counting = _CountingPattern(phrases)
    monkeypatch.setattr(soft404, "_patterns", lambda: (counting, separators, punctuation))
    assert not soft404.is_soft_404_text(title)
    assert counting.chars <= soft404.SOFT_404_MAX
    assert soft404.is_soft_404_text("Page not found | " + "The Daily " * 10)
