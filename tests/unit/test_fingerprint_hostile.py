"""Hostile page bodies against the fingerprint (issue 15's hostile review)."""

from __future__ import annotations

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
