"""Pure: what a page's <head> says about it, from a prefix of its bytes.

The engine reads a capped prefix of each page; the facts needed (the AMP
marker on <html>, <link rel=canonical>, <link rel=amphtml>, <title>) live in
the head, so parsing stops where the head ends, as a browser's does: at
</head>, <body>, or the first element that cannot be in a head (an <img> or
<div> in the head closes it, and Google then ignores later canonical links).
Content of <noscript> and <template> is skipped, as a scripting browser
does. The one look past the head is the first complete <h1> of the prefix,
for the soft-404 check (soft404.py), found by a fast scan that steps over
scripts and comments.

The head is read by a regex scanner (head_scan.py) and, where it is not sure,
by html.parser (head_parser.py, imported at the first head the scanner gives up
on); the text is decoded by charset.py.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urljoin

from monitor.content.charset import decode
from monitor.content.head import Head
from monitor.content.head_scan import fast_head, first_values
from monitor.content.mediatype import is_html_content_type, is_image_content_type, media_type
from monitor.content.simhash import page_simhash
from monitor.content.soft404 import is_soft_404_text

__all__ = [
    "HtmlFacts",
    "head_facts",
    "is_html_content_type",
    "is_image_content_type",
    "is_soft_404_text",
    "media_type",
]


# Not frozen: a frozen dataclass's __init__ sets each field by object.__setattr__,
# 22.6 thousand instructions for this one against 8.8 (callgrind), one per page
# checked; nothing keeps one past the caller that copies it out (read_page).
@dataclass(slots=True)
class HtmlFacts:
    canonical: str | None = None  # absolute
    amphtml: str | None = None  # absolute
    is_amp: bool = False
    title: str | None = None
    soft_404: bool = False
    # the rest of the fingerprint (content/fingerprint.py), each cut to FACT_TEXT_MAX
    closed_title: str | None = None  # the title when closed within the prefix
    og_title: str | None = None
    h1: str | None = None
    description: str | None = None
    published_time: str | None = None  # <meta property="article:published_time">, as written
    # the simhash of the body's text window (content/simhash.py), when asked for
    text_hash: int | None = None


# The first <h1> of the body, found by a scan rather than by the parser
# (html.parser runs at about 1 MB/s; a regex scan of a 512 KiB prefix takes a
# millisecond). Scripts, styles, comments and templates are stepped over; an
# <h1> cut by the end of the prefix is not matched.
_BODY_SCAN = re.compile(
    r"<(script|style|template|noscript|textarea)\b.*?</\1\s*>|<!--.*?-->"
    r"|<h1\b[^>]*>(.*?)</h1\s*>",
    re.IGNORECASE | re.DOTALL,
)
# Where a _BODY_SCAN match can start: "<" and the first letters of each
# alternative in every case _BODY_SCAN's IGNORECASE accepts ("ſ" is an "s"). A
# search for these skips the other tags at C speed; _BODY_SCAN then decides
# at each hit, so first_h1 answers as _BODY_SCAN.finditer would.
_BODY_OPEN = re.compile(r"<(?:[sS\u017f](?:[cC]|[tT][yY])|[tT][eE]|[nN][oO]|!--|[hH]1)")
_TAG = re.compile(r"<[^>]*>")
# Which alternative of _BODY_SCAN a candidate opens, if any.
_KIND = re.compile(r"<(script|style|template|noscript|textarea|h1)\b|<(!--)", re.IGNORECASE)


_DEAD_SKIPPED = 8  # spellings of failed constructs the opener search leaves out


@lru_cache(maxsize=64)
def _opener_without(dead: frozenset[str]) -> re.Pattern[str]:
    """_BODY_OPEN, except where _KIND reads one of these spellings: 100,000 unclosed
    `<!--` or `<style>` were each a turn of first_h1's loop (70 ms of CPU)."""
    names = "|".join(re.escape(k) + ("" if k == "!--" else r"\b") for k in sorted(dead))
    return re.compile(rf"(?!<(?:{names})){_BODY_OPEN.pattern}")


def first_h1(text: str, start: int = 0) -> str | None:
    """Text of the first complete <h1> in `text[start:]`, outside scripts and comments.

    The same answer as the first <h1> of `_BODY_SCAN.finditer(text, start)`,
    trying _BODY_SCAN only where _BODY_OPEN says a match can start.

    A construct that fails to match has no closing tag anywhere after it, so no
    later one of its kind (by spelling) can match either: each fails at most
    once, and an <h1> that cannot close ends the search. Without that, every
    `<h1 ` of a page that never closes one scanned to the end: quadratic, 9 s
    of event loop for 64,000 of them (second hostile review).
    """
    search, match, kind_at = _BODY_OPEN.search, _BODY_SCAN.match, _KIND.match
    dead: set[str] = set()
    pos = start
    while (candidate := search(text, pos)) is not None:
        at = candidate.start()
        opened = kind_at(text, at)
        # as written: the closing tag is found by a backreference, so `<SCRIPT`
        # and `<ſcript` are different constructs to the scan
        kind = (opened.group(1) or opened.group(2)) if opened else None
        found = None if kind in dead else match(text, at)
        if found is None:
            if kind is not None and kind.lower() == "h1":
                return None
            if kind is not None:
                dead.add(kind)
                if len(dead) <= _DEAD_SKIPPED:  # the search steps over them from now on
                    search = _opener_without(frozenset(dead)).search
            pos = at + 1
            continue
        inner = found.group(2)
        if inner is not None:
            if "<" in inner or "&" in inner:
                inner = html.unescape(_TAG.sub(" ", inner))
            return " ".join(inner.split())
        pos = found.end()
    return None


# An absolute http(s) URL that urljoin returns unchanged whatever the base:
# lower-case scheme, a non-empty host of plain characters (no brackets),
# a path without dot segments, a non-empty query if any; no ";" (urljoin
# drops an empty parameter), "#", whitespace, backslash or non-ASCII.
# Tested against urljoin with hypothesis.
_PLAIN = r"A-Za-z0-9\-._~%!$&'()*+,=:@"
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[{_PLAIN}]+(?:/(?!\.)[{_PLAIN}]*)*(?:\?[{_PLAIN}/?]+)?",
)


def _absolute(href: str | None, base: str) -> str | None:
    if href is None:
        return None
    if _PLAIN_ABSOLUTE.fullmatch(href):
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href


def head_facts(
    prefix: bytes, *, base_url: str, charset: str | None = None, text_hash: bool = False
) -> HtmlFacts:
    """Canonical and amphtml links (absolute), AMP marker, title, soft-404 flag.

    `base_url` is the URL the page was finally served from (after
    redirects); a <base href> in the head takes precedence over it, as in a
    browser. `charset` is the Content-Type charset, if any. With `text_hash`,
    also the simhash of the body's text window (the daemon's own-drift check).
    Never raises.
    """
    text = decode(prefix, charset)
    got = fast_head(text) or _slow_head(text)
    simhash = page_simhash(prefix, text, got.head_end, charset) if text_hash else None
    return _facts(text, got, base_url, simhash)


def _slow_head(text: str) -> Head:
    """html.parser's reading, for a head the scanner gives up on: its module (and
    html.parser's) is imported here, at the first such head (issue 16)."""
    from monitor.content.head_parser import slow_head

    return slow_head(text)


def _facts(text: str, got: Head, base_url: str, simhash: int | None = None) -> HtmlFacts:
    base = base_url
    if got.base:
        base = _absolute(got.base, base_url) or base_url
    title = got.title or None
    # A title or heading cut by the end of the prefix ("Page not found" of
    # "Page not found for decades, ...") is shown but never judged.
    soft = got.title_closed and is_soft_404_text(title)
    heading = first_h1(text, got.head_end) if got.head_end is not None else None
    # a heading that repeats a judged title has its answer already
    if not soft and heading is not None and not (got.title_closed and heading == title):
        soft = is_soft_404_text(heading)
    metas = head_metas(text, len(text) if got.head_end is None else got.head_end)
    description = (
        metas.get("description") or metas.get("og:description") or metas.get("twitter:description")
    )
    facts = HtmlFacts(
        canonical=_absolute(got.canonical, base),
        amphtml=_absolute(got.amphtml, base),
        is_amp=got.is_amp,
        title=title,
        soft_404=soft,
        closed_title=_cut(title) if got.title_closed else None,
        og_title=metas.get("og:title"),
        h1=_cut(heading),
        description=description,
        published_time=metas.get("article:published_time"),
        text_hash=simhash,
    )
    # A NUL in a text fact came from the page's text (no escape gives one), so the
    # facts are looked at rather than the whole text: a page with any character
    # past Latin-1 is UCS-2, and its scan is no memchr (12.7 thousand instructions).
    texts = (title, facts.og_title, heading, description, facts.published_time)
    return _without_nul(facts) if any(t and "\x00" in t for t in texts) else facts


def _without_nul(facts: HtmlFacts) -> HtmlFacts:
    """The texts with each NUL read as U+FFFD, as HTML reads one in a title (and
    PostgreSQL's text refuses NUL: a probe answer holding one was never kept)."""

    def clean(value: str | None) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")

    return replace(
        facts,
        title=clean(facts.title),
        closed_title=clean(facts.closed_title),
        og_title=clean(facts.og_title),
        h1=clean(facts.h1),
        description=clean(facts.description),
        published_time=clean(facts.published_time),
    )


# The fingerprint's <meta>s (og:title, the descriptions, the publication time), found from their
# key words rather than by a scan of every tag: str.find runs at memchr speed,
# where a regex over a 40 KB head of scripts costs as much as reading the head
# again (bench/content_scan.py). A key must be written in lower case (as every
# publisher does). A <meta> inside a script, style, comment, <noscript> or
# <template> is not read: the nearest such opener (in lower case) within
# SKIP_WINDOW characters before it, not closed since, says so. One rule for
# both head readers.
META_KEYS = frozenset(
    {"og:title", "description", "og:description", "twitter:description", "article:published_time"}
)
# the words searched for; each search ends once the key of its own name is found
# (the page's own description is preferred to og:/twitter:description)
_META_WORDS = ("description", "og:title", "article:published_time")
_META_START = re.compile(r"<[mM][eE][tT][aA][\s/]")
_SKIPPED = (
    ("<script", "</script"),
    ("<!--", "-->"),
    ("<style", "</style"),
    ("<noscript", "</noscript"),
    ("<template", "</template"),
)
_META_NAMES = frozenset({"property", "name", "content"})  # the attributes _take_meta reads
SKIP_WINDOW = 2048
MAX_META_TAGS = 32  # <meta>s read per key word: a page has a handful, a hostile one 10,000


def head_metas(text: str, end: int) -> dict[str, str]:
    """The first non-empty value of each of META_KEYS in `text[:end]`, spaces
    collapsed, cut to FACT_TEXT_MAX characters."""
    found: dict[str, str] = {}
    seen: set[int] = set()
    for word in _META_WORDS:
        at = text.find(word, 0, end)
        tags = 0
        back = 0  # no `<` between here and `at`: the tag is the previous one's, judged
        while at >= 0 and tags < MAX_META_TAGS and word not in found:
            lt = text.rfind("<", back, at)
            back = at
            gt = text.find(">", at, end)
            if lt >= 0 and lt not in seen and gt >= 0 and _META_START.match(text, lt):
                seen.add(lt)
                tags += 1
                if not _inside_skipped(text, lt):
                    _take_meta(text[lt + 5 : gt], found)
            at = text.find(word, max(at + 1, gt), end) if gt >= 0 else -1
    return found


def _inside_skipped(text: str, at: int) -> bool:
    """Whether `at` lies in a script, style, comment, <noscript> or <template>."""
    window = max(0, at - SKIP_WINDOW)
    for opener, closer in _SKIPPED:
        start = text.rfind(opener, window, at)
        if start >= 0 and text.find(closer, start, at) < 0:
            return True
    return False


def _take_meta(raw: str, found: dict[str, str]) -> None:
    values = first_values(raw, _META_NAMES)  # the first of a repeated attribute wins
    key = (values.get("property") or values.get("name") or "").strip().lower()
    if key in META_KEYS and key not in found:
        content = " ".join((values.get("content") or "")[:FACT_TEXT_MAX].split())
        if content:
            found[key] = content


FACT_TEXT_MAX = 600  # characters of a title or heading kept: a headline is ~100


def _cut(text: str | None) -> str | None:
    return text[:FACT_TEXT_MAX] if text else None
