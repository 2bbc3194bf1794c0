"""head_facts: canonical/amphtml/AMP marker/title/soft 404 from a page prefix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.content.html import (
    HtmlFacts,
    head_facts,
    is_html_content_type,
    is_image_content_type,
    is_soft_404_text,
)

BASE = "https://news.example/2024/story/"


def facts(html: str | bytes, *, base: str = BASE, charset: str | None = None) -> HtmlFacts:
    data = html.encode("utf-8") if isinstance(html, str) else html
    return head_facts(data, base_url=base, charset=charset)


def test_typical_amp_page() -> None:
    page = """<!doctype html>
<html ⚡ lang="en">
<head>
  <meta charset="utf-8">
  <title>Big news &amp; more | News</title>
  <link rel="canonical" href="https://news.example/2024/story/">
  <script async src="https://cdn.ampproject.org/v0.js"></script>
</head>
<body><h1>Big news</h1></body></html>"""
    assert facts(page) == HtmlFacts(
        canonical="https://news.example/2024/story/",
        amphtml=None,
        is_amp=True,
        title="Big news & more | News",
        soft_404=False,
        closed_title="Big news & more | News",
        h1="Big news",
    )


def test_typical_web_page_with_relative_amphtml() -> None:
    page = '<html><head><link rel=amphtml href="amp/"><link rel=canonical href=/2024/story/>'
    got = facts(page)
    assert got.amphtml == "https://news.example/2024/story/amp/"
    assert got.canonical == "https://news.example/2024/story/"
    assert got.is_amp is False


@pytest.mark.parametrize(
    "html_tag",
    [
        "<html amp>",
        "<html AMP>",
        "<html ⚡>",
        "<HTML lang=en ⚡>",
        "<html amp=''>",
        "<html\namp\n>",
    ],
)
def test_amp_marker_any_case(html_tag: str) -> None:
    assert facts(html_tag + "<head></head>").is_amp is True


@pytest.mark.parametrize(
    "html_tag",
    ["<html>", "<html ⚡4email>", "<html amp4email>", "<html lang=amp>", "<html data-amp>"],
)
def test_not_amp(html_tag: str) -> None:
    assert facts(html_tag + "<head></head>").is_amp is False


def test_amp_attribute_on_another_element_is_not_the_marker() -> None:
    assert facts("<html><head></head><body amp>").is_amp is False


@pytest.mark.parametrize(
    "rel", ["canonical", "Canonical", "CANONICAL foo", "foo  canonical\tbar", " canonical "]
)
def test_rel_is_a_case_insensitive_token_list(rel: str) -> None:
    got = facts(f'<head><link rel="{rel}" href="https://a.example/x">')
    assert got.canonical == "https://a.example/x"


@pytest.mark.parametrize("rel", ["canonicalx", "non-canonical", "alternate"])
def test_other_rels_are_not_canonical(rel: str) -> None:
    assert facts(f'<head><link rel="{rel}" href="https://a.example/x">').canonical is None


def test_first_canonical_wins_and_empty_href_is_skipped() -> None:
    page = (
        '<head><link rel=canonical href=""><link rel=canonical href="/one">'
        '<link rel=canonical href="/two">'
    )
    assert facts(page).canonical == "https://news.example/one"


def test_base_href_resolves_links_wherever_it_appears() -> None:
    page = '<head><link rel=canonical href="a"><base href="https://other.example/dir/">'
    assert facts(page).canonical == "https://other.example/dir/a"


def test_relative_base_href_is_resolved_against_the_page_url() -> None:
    page = '<head><base href="/sub/"><link rel=amphtml href="../amp/x">'
    assert facts(page).amphtml == "https://news.example/amp/x"


def test_entities_in_href_are_decoded() -> None:
    page = '<head><link rel=canonical href="/a?x=1&amp;y=2">'
    assert facts(page).canonical == "https://news.example/a?x=1&y=2"


@pytest.mark.parametrize(
    "page",
    [
        "<head><title>t</title></head><body><link rel=canonical href=/late>",
        "<html><title>t</title><body><link rel=canonical href=/late>",
        "<head><img src=x.gif><link rel=canonical href=/late>",
    ],
    ids=["after-the-head", "body-start-ends-an-unclosed-head", "an-image-ends-it-like-a-browser"],
)
def test_links_after_the_head_are_ignored(page: str) -> None:
    assert facts(page).canonical is None


def test_noscript_and_template_content_does_not_end_the_head() -> None:
    page = (
        "<head><noscript><img src=pixel.gif><iframe></iframe></noscript>"
        "<template><div>x</div></template>"
        "<link rel=canonical href=/kept></head>"
    )
    assert facts(page).canonical == "https://news.example/kept"


def test_links_inside_noscript_are_not_taken() -> None:
    page = "<head><noscript><link rel=canonical href=/hidden></noscript></head>"
    assert facts(page).canonical is None


def test_links_inside_scripts_and_comments_are_not_taken() -> None:
    page = (
        "<head><script>document.write('<link rel=canonical href=/js>')</script>"
        "<!-- <link rel=canonical href=/comment> --></head>"
    )
    assert facts(page).canonical is None


def test_title_is_raw_text_and_whitespace_is_collapsed() -> None:
    page = (
        "<head><title>\n  A <b>bold</b>\n  claim &mdash; News </title><link rel=canonical href=/c>"
    )
    got = facts(page)
    assert got.title == "A <b>bold</b> claim — News"
    assert got.canonical == "https://news.example/c"


def test_svg_title_in_the_body_is_not_the_page_title() -> None:
    page = "<head></head><body><svg><title>Not found</title></svg>"
    got = facts(page)
    assert got.title is None and got.soft_404 is False


# --- charsets ---------------------------------------------------------------------


def test_meta_charset_decodes_the_title() -> None:
    page = '<head><meta charset="windows-1252"><title>Caf\xe9 \x93news\x94</title>'.encode(
        "latin-1"
    )
    assert facts(page).title == "Café “news”"


def test_http_equiv_charset() -> None:
    page = (
        '<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        "<title>Gr\xfc\xdfe</title>"
    ).encode("latin-1")
    assert facts(page).title == "Grüße"


def test_transport_charset_wins_over_meta() -> None:
    page = '<head><meta charset="utf-8"><title>Caf\xe9</title>'.encode("latin-1")
    assert facts(page, charset="ISO-8859-1").title == "Café"


def test_bom_wins_over_everything() -> None:
    page = "\ufeff<head><title>Café</title>".encode("utf-16-le")
    assert facts(page, charset="iso-8859-1").title == "Café"


def test_unknown_charset_falls_back_to_utf8_with_replacement() -> None:
    page = b"<head><meta charset=klingon><title>Caf\xc3\xa9 \xff</title>"
    assert facts(page).title == "Café \ufffd"


def test_declared_utf16_in_ascii_bytes_is_read_as_utf8() -> None:
    page = b'<head><meta charset="utf-16"><title>Caf\xc3\xa9</title>'
    assert facts(page).title == "Café"


def test_a_character_cut_by_the_prefix_is_replaced() -> None:
    page = "<head><title>Café</title><link rel=canonical href=/é>".encode()
    got = facts(page[:-3])
    assert got.title == "Café"


# --- soft 404 --------------------------------------------------------------------

SOFT_404_TITLES = [
    "404 Not Found",
    "404",
    "Error 404",
    "404 Error",
    "Not Found",
    "Page not found | The Verge",
    "Page Not Found – TechCrunch",
    "Error 404 - Page Not Found - Site",
    "404: Page not found",
    "Oops! That page can’t be found. – Blog",
    "Sorry, this page does not exist",
    "The page you are looking for doesn't exist",
    "This content is no longer available",
    "Article no longer available",
    "We couldn't find that page",
    "Seite nicht gefunden - Spiegel",
    "Fehler 404",
    "Page introuvable | Le Monde",
    "Página no encontrada",
    "Pagina non trovata - Corriere",
    "Página não encontrada",
    "Pagina niet gevonden",
    "Nie znaleziono strony",
    "News » 404 Not Found",
]

NOT_SOFT_404_TITLES = [
    "The 404 page is dead",
    "Why 404 errors matter for SEO",
    "HTTP 404 explained - Wikipedia",
    "Apple Music no longer available in Russia - Reuters",
    "Tesla Model S no longer available in Europe",
    "Page not found: the web is rotting away",
    "Lost and found: the story of a missing page",
    "Nothing found for “xyz”",
    "Not found yet: the search for MH370 continues",
    "Route 404 reopens after floods",
    "",
]


@pytest.mark.parametrize("title", SOFT_404_TITLES)
def test_soft_404_titles(title: str) -> None:
    assert is_soft_404_text(title)
    page = f"<html><head><title>{title}</title></head><body><p>x</p>"
    assert facts(page).soft_404 is True


@pytest.mark.parametrize("title", NOT_SOFT_404_TITLES)
def test_headlines_about_404_are_not_soft_404(title: str) -> None:
    assert not is_soft_404_text(title)
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
    assert facts(page).soft_404 is False


@pytest.mark.parametrize(
    ("page", "soft"),
    [
        ("<head><title>News Site</title></head><body><nav>x</nav><h1>Page not found</h1>", True),
        ("<head><title>Site</title></head><body><h1>Real story</h1><h1>Not found</h1>", False),
    ],
    ids=["the-first-h1-can-flag-a-soft-404", "only-the-first-h1-counts"],
)
def test_the_first_h1_is_judged(page: str, soft: bool) -> None:
    assert facts(page).soft_404 is soft


def test_a_title_cut_by_the_prefix_is_not_judged() -> None:
    page = b"<head><title>Page not found"
    got = facts(page)
    assert got.title == "Page not found"
    assert got.soft_404 is False


def test_the_first_h1_anywhere_in_the_prefix_counts() -> None:
    filler = "<p>" + "lorem ipsum " * 20_000 + "</p>"
    page = f"<head><title>Site</title></head><body>{filler}<h1 class=x>Page <em>not</em> found</h1>"
    assert facts(page).soft_404 is True


@pytest.mark.parametrize(
    "hidden",
    [
        "<script>var t = '<h1>Page not found</h1>';</script>",
        "<!-- <h1>Page not found</h1> -->",
        "<template><h1>Page not found</h1></template>",
        "<textarea><h1>Page not found</h1></textarea>",
    ],
)
def test_an_h1_in_scripts_or_comments_is_not_the_heading(hidden: str) -> None:
    page = f"<head><title>Site</title></head><body>{hidden}<h1>Real story</h1>"
    assert facts(page).soft_404 is False


def test_an_h1_cut_by_the_prefix_is_not_judged() -> None:
    page = "<head><title>Site</title></head><body><h1>Not found"
    assert facts(page).soft_404 is False


def test_an_h1_without_head_or_body_tags_is_found() -> None:
    assert facts("<!doctype html><h1>404 Not Found</h1>").soft_404 is True


def test_a_prefix_without_a_head_end_is_fine() -> None:
    page = "<html amp><head><link rel=canonical href=/c><title>T</title>" + "<meta x=y>" * 10
    got = facts(page)
    assert (got.canonical, got.is_amp, got.title) == ("https://news.example/c", True, "T")


# --- content types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "html", "image"),
    [
        ("text/html", True, False),
        ("Text/HTML; charset=UTF-8", True, False),
        ("application/xhtml+xml", True, False),
        (" text/html ;charset=x", True, False),
        ("text/plain", False, False),
        ("image/jpeg", False, True),
        ("IMAGE/WEBP", False, True),
        ("image/svg+xml; charset=utf-8", False, True),
        ("image/", False, False),
        ("application/octet-stream", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_content_types(value: str | None, html: bool, image: bool) -> None:
    assert is_html_content_type(value) is html
    assert is_image_content_type(value) is image


# --- never raises ---------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert isinstance(head_facts(data, base_url=BASE), HtmlFacts)


TAGS = st.sampled_from(
    [
        "<html amp>",
        "<head>",
        "</head>",
        "<body>",
        "<title>",
        "</title>",
        "<noscript>",
        "</noscript>",
        "<template>",
        "</template>",
        "<h1>",
        "</h1>",
        "<link rel=canonical href=/c>",
        "<link rel=amphtml href='http://[::1'>",
        "<base href='http://[bad'>",
        "<base href=//x/>",
        "<script>",
        "</script>",
        "<!--",
        "-->",
        "<![CDATA[",
        "&#x110000;",
        "&amp",
        "<",
        "Page not found",
        "<meta charset=utf-16>",
    ]
)


@settings(max_examples=300)
@given(st.lists(TAGS, max_size=30), st.sampled_from([BASE, "", "not a url", "http://[::1"]))
def test_tag_soup_never_raises(parts: list[str], base: str) -> None:
    got = head_facts("".join(parts).encode(), base_url=base)
    assert isinstance(got, HtmlFacts)


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_soft_404_text_never_raises(text: str) -> None:
    assert is_soft_404_text(text) in (True, False)


def test_head_end_position_survives_newlines_and_chunk_boundaries() -> None:
    head = "<head>\n" + "<meta name=a content=b>\r\n" * 2000 + "<title>Site</title>\n</head>\n"
    page = head + "<body>\n<h1>\nPage not found\n</h1>"
    assert len(page) > 3 * 8192
    assert facts(page).soft_404 is True
    # the <h1> is searched after the head only: one inside <title> is just text
    assert facts("<head><title>Site <h1>Not found</h1></title></head><body>").soft_404 is False


# --- the fast scanner agrees with the parser -------------------------------------

from monitor.content.head_parser import slow_head  # noqa: E402
from monitor.content.head_scan import fast_head  # noqa: E402

PIECES = st.sampled_from(
    [
        "<!doctype html>",
        "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0//EN'>",
        "<?xml version='1.0'?>",
        "<html amp>",
        "<HTML lang=en ⚡>",
        "<html\nAMP\n/>",
        "<html data-amp>",
        '<html lang="en">',
        "<html lang='a>b' amp>",
        "<html amped ⚡4email x=amp>",
        "<html AmP=1>",
        "<html\t⚡/>",
        "<head>",
        "<HEAD >",
        "</head>",
        "</HEAD\n>",
        "</html>",
        "<body>",
        "<body class=x>",
        "<div>",
        "<img src=x.gif/>",
        "<br/>",
        "<h1>",
        "</h1>",
        "<title>",
        "<TITLE >",
        "<title/>",
        "</title>",
        "</Title >",
        "<title>Page not found</title>",
        "<title>News &amp; more &mdash; Site</title>",
        "<title>a <b>bold</b> claim</title>",
        "<noscript>",
        "</noscript>",
        "<noscript/>",
        "<template/>",
        "<template>",
        "</template>",
        "<script>",
        "</script>",
        "<script src=/a.js></script>",
        "<script>var s = '<link rel=canonical href=/js>'</script>",
        "<script>a</scripty></script >",
        "<script/>",
        "<style>a{}</style>",
        "<style/>",
        "<!-- c -->",
        "<!-- <link rel=canonical href=/comment> -->",
        "<!-- a -- b -->",
        "<!-->",
        "<!--->",
        "<!-- x --->",
        "<!-- x -- >",
        "<!--",
        "-->",
        "<![CDATA[x]]>",
        "<!x>",
        "<meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width">',
        "<meta property=og:url content='http://a.example/?a=1&amp;b=2'>",
        '<link rel="canonical" href="https://a.example/x">',
        "<link rel=canonical href=/c>",
        "<link rel=canonical href=/c/>",
        "<link rel='Canonical amphtml' href='/both'>",
        "<link REL=AMPHTML HREF=amp/>",
        "<link rel=canonical href=''>",
        "<link rel=canonical href>",
        "<link rel=canonical href=/a href=/b>",
        "<link href=/x?a=1&amp;b=2 rel=canonical>",
        "<link rel=canonical href=/&copy>",
        '<link rel=canonical href="/a"/>',
        "<link rel=canonical href=a=b>",
        '<link rel=canonical href="/a"rel=x>',
        "<link rel=canonical\xa0href=/nbsp>",
        "<link / rel=canonical href=/slash>",
        "<link rel = canonical href = /spaced >",
        "<link rel=amphtml href='http://[::1'>",
        "<base href=/sub/>",
        "<base href='https://other.example/dir/'>",
        "<base>",
        "<a:b>",
        "<o:p>",
        "<x-y z>",
        "< link>",
        "</ head>",
        "</>",
        "a < b",
        "&amp;",
        "&#x110000;",
        "text",
        "Page not found",
        " ",
        "\n",
        "\r\n",
        "\t",
        "<",
        ">",
        "&",
        "'",
        '"',
    ]
)
TAG_SOUP = st.text(alphabet="<>/!-=\"' \nablehmrst&⚡", max_size=40)


@settings(max_examples=400)
@given(st.lists(st.one_of(PIECES, PIECES, TAG_SOUP), max_size=25))
def test_fast_scanner_agrees_with_the_parser(parts: list[str]) -> None:
    text = "".join(parts)
    fast = fast_head(text)
    if fast is not None:
        assert fast == slow_head(text)


def test_fast_scanner_takes_well_formed_pages() -> None:
    head = (
        '<!doctype html>\n<html ⚡ lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Big &amp; news | Site</title>\n"
        '<meta name="viewport" content="width=device-width,minimum-scale=1">\n'
        '<link rel="canonical" href="http://a.example/news/x.html">\n'
        "<!-- analytics -->\n"
        '<script async src="https://cdn.ampproject.org/v0.js"></script>\n'
        "<style amp-boilerplate>body{-webkit-animation:-amp-start 8s}</style>\n"
        "<noscript><style amp-boilerplate>body{animation:none}</style></noscript>\n"
        '<script type="application/ld+json">{"headline": "<b>x</b>"}</script>\n'
        "<link rel=icon href=/favicon.ico />\n"
        "</head>\n<body>\n<article><h1>Big news</h1>"
    )
    fast = fast_head(head)
    assert fast is not None
    assert fast == slow_head(head)
    assert (fast.is_amp, fast.title, fast.canonical) == (
        True,
        "Big & news | Site",
        "http://a.example/news/x.html",
    )
    assert head[fast.head_end :].startswith("</head>")


from monitor.content.soft404 import has_404_part  # noqa: E402

WORDS = st.sampled_from(
    "page not found 404 error http the this requested article content is no longer "
    "available unavailable exist exists doesn't does could be cannot can't removed "
    "deleted oops sorry we couldn't find that nothing fehler seite nicht gefunden "
    "erreur introuvable n'existe pas página encontrada existe pagina non trovata esiste "
    "não niet gevonden deze bestaat nie znaleziono strony została znaleziona | - – : ! "
    "News Site Story ’ . ,".split(" ")
)


@settings(max_examples=500)
@given(st.lists(WORDS, max_size=8).map(" ".join))
def test_keyword_shortcut_never_changes_the_soft_404_answer(text: str) -> None:
    assert is_soft_404_text(text) is (bool(text) and has_404_part(text.lower()))


@pytest.mark.parametrize("title", SOFT_404_TITLES)
def test_every_soft_404_title_passes_the_keyword_shortcut(title: str) -> None:
    assert has_404_part(title.lower())


# --- fast paths agree with their general forms -------------------------------------

import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urljoin  # noqa: E402

from monitor.content.html import (  # noqa: E402
    _BODY_OPEN,
    _BODY_SCAN,
    _TAG,
    _absolute,
    first_h1,
)


def _urljoin_or_href(href: str, base: str) -> str:
    try:
        return urljoin(base, href)
    except ValueError:
        return href


HREF_START = st.sampled_from(
    ["http://", "https://", "HTTP://", "Https://", "http:", "http:/", "ftp://", "//", "/", "", " "]
)
HREF_CHARS = st.text(alphabet="aZ09-._~%!$&'()*+,=:@/?#;[]\\ \t\n.é⚡", max_size=30)
BASES = st.sampled_from(
    [BASE, "http://a.example/x/y", "https://h:8443/", "", "not a url", "http://[::1", "ftp://f/"]
)


@settings(max_examples=1000)
@given(
    HREF_START,
    st.sampled_from(["a.example", "127.0.0.1:8080", "[::1]", "u@h", ""]),
    HREF_CHARS,
    BASES,
)
def test_absolute_fast_path_equals_urljoin(start: str, host: str, rest: str, base: str) -> None:
    href = start + host + rest
    assert _absolute(href, base) == _urljoin_or_href(href, base)


@pytest.mark.parametrize(
    "href",
    [
        "http://a.example/news/x.html",
        "https://127.0.0.1:8080/amp/news/x.html?utm=1&b=2",
        "http://a.example",
        "http://a.example/a/./b/../c",
        "http://a.example/d;",
        "http://a.example/d?",
        "http://a.example/d#",
        "http://[::1/x",
    ],
)
@pytest.mark.parametrize("base", ["http://b.example/", "https://b.example/", "", "x"])
def test_absolute_fast_path_examples(href: str, base: str) -> None:
    assert _absolute(href, base) == _urljoin_or_href(href, base)


def _first_h1_reference(text: str, start: int) -> str | None:
    """first_h1 as it was: every match of _BODY_SCAN, in order."""
    for match in _BODY_SCAN.finditer(text, start):
        inner = match.group(2)
        if inner is not None:
            return " ".join(html.unescape(_TAG.sub(" ", inner)).split())
    return None


import html  # noqa: E402

BODY_PIECES = st.sampled_from(
    [
        "<h1>",
        "</h1>",
        "<H1 class=x>",
        "</H1 >",
        "<h1",
        "<h10>",
        "<h2>",
        "<script>",
        "</script>",
        "<SCRIPT src=x>",
        "<ſcript>",
        "</ſcript>",
        "<style>",
        "</style >",
        "<Style>",
        "</STYLE>",
        "<!---->",
        "<textarea>",
        "</textarea>",
        "<template>",
        "</template>",
        "<noscript>",
        "</noscript>",
        "<!--",
        "-->",
        "<!-- <h1>x</h1> -->",
        "<strong>",
        "<section>",
        "<sc",
        "<st",
        "<te",
        "<no",
        "<nav>",
        "<s",
        "<t",
        "<n",
        "<h",
        "<",
        ">",
        "Page not found",
        "&amp;",
        "&lt;b&gt;",
        "<b>",
        "</b>",
        " ",
        "\n",
        "x",
        "404",
    ]
)


@settings(max_examples=600)
@given(st.lists(BODY_PIECES, max_size=25), st.integers(0, 20))
def test_first_h1_equals_the_plain_body_scan(parts: list[str], start: int) -> None:
    text = "".join(parts)
    assert first_h1(text, start) == _first_h1_reference(text, start)


def test_body_open_covers_every_case_variant_of_the_first_letters() -> None:
    """_BODY_OPEN must match wherever _BODY_SCAN can: every character that the
    IGNORECASE scan takes for the first letters (and "c", "y", "e", "o" after them)."""
    everything = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000)
    for word in ("sc", "sty", "te", "no", "h1"):
        variants = [re.compile(f"(?i){c}").findall(everything) for c in word]
        for combo in _product(variants):
            assert _BODY_OPEN.match("<" + "".join(combo)), combo
    assert _BODY_OPEN.match("<!--")


def _product(lists: list[list[str]]) -> list[tuple[str, ...]]:
    import itertools

    return list(itertools.product(*lists))


SKIP_PIECES = st.sampled_from(
    [
        "<meta charset=utf-8/>",
        "<meta:x>",
        "<metadata>",
        "<META NAME=a CONTENT='b'>",
        "<header>",
        "</header>",
        "</headx>",
        "<head/>",
        "<head lang=en>",
        "</Title>",
        "<script type=x>a<b</script >",
        "<script>x</ſcript>",
        "<script></script\n>",
        "<style>a<b</style>",
        "<style>x</STYLE>",
        "<!---->",
        "<!-- a- -->",
        "<!---x-->",
        "<link rel=stylesheet href=/a.css>",
        "<link rel=&#99;anonical href=/e>",
        "<link rel=CANONİCAL href=/x>",
        "<link rel=preload href=/f.woff2 as=font crossorigin>",
        "<html lang=en>",
        "<html AmP>",
        "<html ⚡4email amp>",
        "<html lang=amp>",
        "<title>x</title >",
        "<TITLE>a &amp; b</TITLE>",
        "<title>a</title><title>b</title>",
        "<title></title>",
        "<title>a<</title>",
        "<base href=/b/>",
    ]
)


@settings(max_examples=600)
@given(st.lists(st.one_of(SKIP_PIECES, PIECES), max_size=25))
def test_fast_scanner_with_its_skip_runs_agrees_with_the_parser(parts: list[str]) -> None:
    """On every Python the project supports: Python 3.11.0-3.11.4's `re` matched a
    possessive repeat of a group wrongly (CPython gh-106052), so head_scan.py writes
    those repeats as atomic groups; test_head_scan_patterns_on_this_python pins it."""
    text = "".join(parts)
    fast = fast_head(text)
    if fast is not None:
        assert fast == slow_head(text)


def test_head_scan_patterns_on_this_python() -> None:
    """The shape CPython gh-106052 broke (3.11.0-3.11.4): a skip run over a <style>
    or <script> holding a `<`, then the end of the head. And no pattern of the
    scanner repeats a group possessively, so the rule holds on any interpreter."""
    for page in ("<style>a<b</style></head>", "<script>a<b</script></head>"):
        fast = fast_head(page)
        assert fast is not None and fast == slow_head(page)
        assert fast.head_end == page.index("</head>")
    import monitor.content.head_scan as scan

    patterns = [v.pattern for v in vars(scan).values() if isinstance(v, re.Pattern)]
    patterns += [scan._cdata("script"), scan._ATTRS, scan._SKIP_RUN]
    for pattern in patterns:
        assert not re.search(r"\)[*+?]\+", pattern), pattern


def test_fast_scanner_takes_real_world_shaped_heads() -> None:
    """Long heads full of meta, link, script, JSON-LD and CSS stay on the fast path."""
    bench = str(Path(__file__).resolve().parents[2] / "bench")  # wherever pytest runs from
    sys.path.insert(0, bench)
    try:
        import content_scan
    finally:
        sys.path.remove(bench)
    cases = content_scan.page_cases(4)
    for name, pages in cases.items():
        if name.startswith("real-odd"):
            continue
        for page in pages:
            text = page.prefix.decode("utf-8", "replace")
            fast = fast_head(text)
            assert fast is not None, name
            assert fast == slow_head(text), name
