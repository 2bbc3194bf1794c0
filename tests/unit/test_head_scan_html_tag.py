"""Hostile `<html>` start tags, held to html.parser (6983737 skips a non-AMP
<html> in the skip run): attribute names that start with or contain `amp`,
entity forms of `⚡`, no whitespace, comments and slashes inside the tag,
uppercase, a second <html>. Where the scanner answers, it answers as the
parser does (issue 16 hostile review; found fine)."""

from __future__ import annotations

import pytest

from monitor.content.head_parser import slow_head
from monitor.content.head_scan import fast_head

TAGS = [
    "<html amp-x>",
    "<html ampx>",
    "<html x-amp>",
    "<html lang=amp&amp; amp>",
    "<html lang=a&amp;b>",
    "<HTML AMP=1>",
    "<html aMp>",
    "<html &#x26A1;>",
    "<html &#9889;>",
    "<html &amp;>",
    "<html amp&#x3d;1>",
    "<html lang=&#97;mp>",
    "<html/amp>",
    "<html / amp>",
    "<html amp/>",
    "<html ⚡/>",
    "<html ⚡⚡>",
    "<html ⚡=⚡>",
    "<html data-x=⚡>",
    "<html ⚡️>",
    "<html ＡＭＰ>",
    '<html lang="en"⚡>',
    '<html lang="en"amp>',
    "<html lang=en/amp>",
    "<html lang=x/ amp>",
    "<html lang=x / amp>",
    "<html\x0bamp>",
    "<html amp\xa0>",
    "<html =amp>",
    "<html a=b=amp>",
    "<html a= amp>",
    "<html lang=`amp`>",
    '<html lang="a>b" amp>',
    "<html<!-- -->amp>",
    "<html amp<!-- -->>",
    "<!--><html amp>",
    "<!-- <html amp> --><html>",
    "<html lang=en><!--<html amp>-->",
    "<html lang=en></html><html amp>",
    "<html><html amp>",
    "<htmlamp>",
    "<html:amp>",
]


@pytest.mark.parametrize("tag", TAGS)
def test_the_scanner_reads_an_html_tag_as_the_parser_does(tag: str) -> None:
    page = tag + "<head><title>t</title><link rel=canonical href=/c></head>"
    fast, slow = fast_head(page), slow_head(page)
    if fast is not None:  # None: the parser decides, which is always allowed
        assert (fast.is_amp, fast.title, fast.canonical) == (
            slow.is_amp,
            slow.title,
            slow.canonical,
        )
