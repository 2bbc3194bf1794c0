"""content/fingerprint.py: words, segments, overlap, parked pages; the head's fingerprint metas."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.content.fingerprint import (
    MAX_WORDS,
    is_parked,
    overlap,
    segments,
    share_a_script,
    shown,
    similarity,
    weighted,
    words,
)
from monitor.content.head_parser import slow_head
from monitor.content.head_scan import fast_head
from monitor.content.html import head_facts, head_metas

HEADLINE = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü", min_size=3, max_size=10),
    min_size=2,
    max_size=8,
).map(" ".join)
SUFFIXES = st.sampled_from(
    ["", " | The Verge", " - BBC News", " — The Guardian", " · TechCrunch", " :: Ars", " » Blog"]
)


@given(HEADLINE)
def test_words_ignore_case(text: str) -> None:
    assert words(text.upper()) == words(text) == words(text.title())


@given(HEADLINE, st.sampled_from([",", ".", "!", "?", ":", ";", "…", " —", "(", ")"]))
def test_words_ignore_punctuation(text: str, mark: str) -> None:
    assert words(text.replace(" ", f"{mark} ") + mark) == words(text)


@given(HEADLINE)
def test_words_ignore_entities(text: str) -> None:
    escaped = "".join(f"&#{ord(c)};" if c in "aeé" else c for c in text)
    assert words(escaped) == words(text)
    assert words(html.escape(html.escape(text))) == words(text)  # double-escaped feeds


@given(HEADLINE)
def test_words_ignore_typographic_quotes_and_accents(text: str) -> None:
    assert words(f"“{text}’s”") == words(f'"{text}\'s"')
    assert words(text.replace("é", "e").replace("ü", "u")) == words(text)


@given(HEADLINE, SUFFIXES)
def test_a_site_name_suffix_keeps_a_full_match(text: str, suffix: str) -> None:
    if len(words(text)) >= 2:
        assert similarity(text, [text + suffix]) == 1.0


@given(st.text(max_size=200))
def test_words_are_bounded_and_never_raise(text: str) -> None:
    got = words(text)
    assert len(got) <= MAX_WORDS
    assert all(w and " " not in w for w in got)


@given(st.text(alphabet="!?.,;:'\"()[]{}|-–—…«»“”‘’ \t\n", max_size=50))
def test_punctuation_only_has_no_words(text: str) -> None:
    assert words(text) == frozenset()
    assert similarity("Security lapse exposed Clearview AI source code", [text]) is None


def test_an_empty_record_or_page_is_not_compared() -> None:
    assert similarity(None, ["Anything"]) is None
    assert similarity("", ["Anything"]) is None
    assert similarity("A headline here", [None, "", "   "]) is None


def test_overlap_never_calls_one_shared_word_a_full_match() -> None:
    assert overlap({"story": 1}, frozenset({"story"})) == 0.5
    assert overlap({"a1": 3, "b1": 3}, frozenset({"a1", "b1", "c1"})) == 1.0
    assert overlap({"apple": 2, "fine": 1}, frozenset({"fine", "other"})) == 0.5


def test_names_and_numbers_weigh_more() -> None:
    assert weighted("Regulators fine Apple over 2024 battery") == {
        "regulator": 2,
        "fin": 1,
        "appl": 3,
        "2024": 3,
        "battery": 1,
    }


def test_segments_split_site_names() -> None:
    assert segments("Clearview leak | The Verge") == [
        "Clearview leak | The Verge",
        "Clearview leak",
        "The Verge",
    ]
    assert segments("e-mail scams rise") == ["e-mail scams rise"]


def test_inflections_meet() -> None:
    assert words("Clearview exposes source codes") == words("Clearview exposed source code")


def test_parked_pages() -> None:
    assert is_parked(["techcrunch.com is for sale!"])
    assert is_parked([None, "This domain may be for sale"])
    assert is_parked(["Buy this domain"])
    assert not is_parked(["Sale of the century: domain names soar", None])


def test_shown_drops_controls_and_bidi_marks_and_cuts() -> None:
    assert shown("a\u202eb\x00c\n d") == "ab c d"
    assert shown("x" * 500, 10) == "x" * 9 + "…"


# -- the head's fingerprint metas: read by one scan; the head readers still agree

META_PIECES = st.sampled_from(
    [
        '<meta property="og:title" content="Big &amp; bold">',
        "<meta property=og:title content='Second'>",
        '<meta name="description" content="The page\'s own description">',
        '<meta name="DESCRIPTION" content="upper">',
        "<meta name=twitter:description content=tw>",
        '<meta property="og:description" content="og desc">',
        '<meta property="article:published_time" content="2020-04-16T19:08:00Z">',
        '<meta name="&#100;escription" content="by entity">',
        '<meta content="a>b" name="description">',
        '<meta content="x<y" property="og:title">',
        '<meta name="description" content="">',
        '<meta name="viewport" content="width=device-width">',
        '<meta property="og:image" content="https://a.example/i.jpg?a=1&amp;b=2">',
        "<meta name=Title content=t>",
        "<meta name=dEsCrIpTiOn content=mixed/>",
        '<meta name="deſcription" content="long s">',
        "<meta name=description>",
        "<title>Tit</title>",
        "<head>",
        "</head>",
        "<body>",
        "<!-- <meta name=description content=commented> -->",
        "<script>'<meta name=description content=js>'</script>",
        "<noscript><meta name=description content=ns></noscript>",
        "<link rel=canonical href=/c>",
        "text",
        "<",
        '"',
    ]
)


@settings(max_examples=600)
@given(st.lists(META_PIECES, max_size=20))
def test_fast_scanner_reads_the_fingerprint_metas_as_the_parser(parts: list[str]) -> None:
    text = "".join(parts)
    fast = fast_head(text)
    if fast is not None:
        assert fast == slow_head(text)


def test_metas_in_scripts_comments_noscript_and_template_are_not_read() -> None:
    text = (
        "<!-- <meta name=description content=commented> -->"
        "<script>'<meta name=description content=js>'</script>"
        "<noscript><meta name=description content=ns></noscript>"
        "<template><meta name=description content=tpl></template>"
        '<meta name="DESCRIPTION" content="upper case: not read (documented)">'
        '<meta name="description" content="  the   real one ">'
        "<meta name=description content=second>"
        '<meta property="og:title" content="Big &amp; bold">'
        '<meta name="twitter:description" content="tw">'
    )
    # the page's own description found, the og:/twitter: fallbacks are not looked for
    assert head_metas(text, len(text)) == {"description": "the real one", "og:title": "Big & bold"}
    fallback = text.replace('name="description"', 'name="x"').replace("name=description", "")
    assert head_metas(fallback, len(fallback))["twitter:description"] == "tw"


def test_metas_after_the_head_are_not_read() -> None:
    text = "<head><title>t</title></head><body><meta name=description content=late>"
    assert head_metas(text, text.index("<body>")) == {}
    assert head_facts(text.encode(), base_url="https://a/").description is None


@given(st.lists(META_PIECES, max_size=20))
def test_head_metas_never_raise_and_stay_bounded(parts: list[str]) -> None:
    text = "".join(parts)
    for value in head_metas(text, len(text)).values():
        assert value and len(value) <= 600


def test_ten_thousand_metas_stay_cheap_and_bounded() -> None:
    text = "<head>" + '<meta name="keywords" content="a">' * 10_000 + "<title>T</title></head>"
    got = head_facts(text.encode(), base_url="https://a/")
    assert got.closed_title == "T" and got.description is None
    text = '<head><meta name="description" content="' + "x" * 100_000 + '"></head>'
    assert len(head_facts(text.encode(), base_url="https://a/").description or "") == 600


def test_head_facts_carry_the_fingerprint() -> None:
    page = (
        b"<!doctype html><html><head><title>Clearview leak &amp; more | The Verge</title>"
        b'<meta property="og:title" content="Clearview leak">'
        b'<meta name="description" content="A security lapse at Clearview AI">'
        b'<meta property="article:published_time" content="2020-04-17T09:36:00Z">'
        b"</head><body><h1>Clearview <em>leak</em></h1>"
    )
    got = head_facts(page, base_url="https://a.example/x")
    assert got.closed_title == "Clearview leak & more | The Verge"
    assert got.og_title == "Clearview leak"
    assert got.description == "A security lapse at Clearview AI"
    assert got.h1 == "Clearview leak"


def test_a_title_cut_by_the_prefix_is_not_in_the_fingerprint() -> None:
    got = head_facts(b"<html><head><title>Never closed " + b"x" * 100, base_url="https://a/")
    assert got.title is not None
    assert got.closed_title is None


def test_og_description_stands_in_for_a_missing_description() -> None:
    page = b'<head><meta property="og:description" content="og one"></head>'
    assert head_facts(page, base_url="https://a/").description == "og one"


def test_a_hostile_head_of_ten_thousand_description_metas_reads_a_bounded_few(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import monitor.content.html as page_html

    calls = []
    real = page_html._take_meta
    monkeypatch.setattr(
        page_html, "_take_meta", lambda raw, found: (calls.append(1), real(raw, found))
    )
    text = "<head>" + '<meta name="description" content="">' * 10_000 + "</head>"
    assert head_metas(text, len(text)) == {}
    assert len(calls) <= page_html.MAX_META_TAGS


def test_chinese_japanese_korean_compare_by_character_pairs() -> None:
    assert similarity("苹果公司发布新款手机", ["苹果发布新款手机 - 新浪"]) == pytest.approx(6 / 7)
    assert similarity("苹果公司发布新款手机", ["域名出售"]) == 0.0


def test_a_title_in_another_script_is_not_compared() -> None:
    assert share_a_script("Security lapse exposed Clearview AI", ["Clearview 漏洞"])
    assert not share_a_script("Security lapse exposed Clearview AI", ["ثغرة أمنية كشفت"])
    assert share_a_script("Apple 2024", ["2024"])  # numbers are in no script
    assert share_a_script("!!!", ["ثغرة"])  # no record words: nothing to rule out


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "windows-1252", "shift_jis", "iso-8859-1"])
def test_the_description_is_read_in_any_web_charset(codec: str) -> None:
    words = (
        "Ein Bericht zum Quellcode 漏洞" if codec == "shift_jis" else "Ein Bericht über Quellcode"
    )
    page = f'<head><meta name="description" content="{words}"></head>'
    data = page.encode(codec)  # utf-16: with its BOM
    charset = None if codec == "utf-16" else codec
    got = head_facts(data, base_url="https://a/", charset=charset)
    assert got.description == words


# -- article:published_time: the scan reads it as html.parser does ---------------

from html.parser import HTMLParser  # noqa: E402


class _Metas(HTMLParser):
    """The reference: every <meta> html.parser sees in the head, outside
    <noscript> and <template> (scripts, styles and comments are not tags to it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[dict[str, str | None]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("noscript", "template"):
            self._skip += 1
        elif tag == "meta" and not self._skip:
            self.metas.append(dict(reversed(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta" and not self._skip:
            self.metas.append(dict(reversed(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("noscript", "template") and self._skip:
            self._skip -= 1


def _published_reference(text: str) -> str | None:
    end = slow_head(text).head_end
    parser = _Metas()
    parser.feed(text[: len(text) if end is None else end])
    parser.close()
    for attrs in parser.metas:
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = " ".join((attrs.get("content") or "").split())
        if key == "article:published_time" and content:
            return content
    return None


PUBLISHED = st.builds(
    lambda attr, quote, value, before, after, close: (
        f"<meta{before} {attr}={quote}article:published_time{quote}{after}"
        f" content={quote}{value}{quote}{close}>"
    ),
    st.sampled_from(["property", "name"]),
    st.sampled_from(['"', "'"]),
    st.sampled_from(
        [
            "2020-04-16T19:08:00Z",
            "2020-04-16T21:08:00+02:00",
            "  2020-04-16  19:08 ",
            "2020-04-16T19:08:00.000Z",
            "&#50;020-01-01",
            "2020&ndash;01",
            "",
        ]
    ),
    st.sampled_from(["", ' data-x="1"', " itemprop=datePublished"]),
    st.sampled_from(["", " id=p", "\n"]),
    st.sampled_from(["", " /", "/"]),
)
PUBLISHED_PIECES = st.one_of(
    PUBLISHED,
    st.sampled_from(
        [
            '<meta property="og:title" content="T">',
            '<meta name="description" content="D">',
            '<meta property="article:modified_time" content="2021-01-01T00:00:00Z">',
            "<!-- <meta property=article:published_time content=commented> -->",
            "<script>'<meta property=article:published_time content=js>'</script>",
            "<noscript><meta property=article:published_time content=ns></noscript>",
            "<template><meta property=article:published_time content=tpl></template>",
            "<title>T</title>",
            "<link rel=canonical href=/c>",
            "</head><body>",
            "<div>",
            "text",
        ]
    ),
)


@settings(max_examples=500)
@given(st.lists(PUBLISHED_PIECES, max_size=16))
def test_published_time_is_read_as_the_parser_reads_it(parts: list[str]) -> None:
    """The first non-empty `article:published_time` of the head, spaces collapsed,
    as html.parser finds it, whatever the attribute order, quoting and company."""
    text = "<html><head>" + "".join(parts)
    got = head_facts(text.encode(), base_url="https://a.example/x")
    assert got.published_time == _published_reference(text)


def test_head_facts_carry_the_publication_time() -> None:
    page = (
        b"<html><head><title>T</title>"
        b'<meta property="article:published_time" content=" 2020-04-17T09:36:00Z ">'
        b'<meta property="article:published_time" content="2021-01-01T00:00:00Z">'
        b"</head><body><meta property=article:published_time content=late>"
    )
    assert head_facts(page, base_url="https://a/").published_time == "2020-04-17T09:36:00Z"
    assert (
        head_facts(b"<head><title>T</title></head>", base_url="https://a/").published_time is None
    )
