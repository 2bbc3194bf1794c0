"""The plain-URL fast path agrees with the general URL checks it lets us skip."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor import urls
from monitor.corpus import records
from monitor.urls import PLAIN_HTTP_URL, _normalize_parsed
from monitor.urls import normalize as normalize_url
from monitor.urls import plain as plain_http_url
from monitor.urls import problem as url_error

# what the general paths decide without the fast path
general_url_error = urls._problem.__wrapped__
general_web_url_problem = records._parsed_web_url_problem


# characters that make a URL interesting: separators, punycode prefixes,
# ports, what must be escaped, whitespace (ASCII and not), non-ASCII letters
_ALPHABET = st.sampled_from(
    [*list("abcxnXN019-.:/?#@[]%_~!$&'()*+,;=<>\"{}|\\^` \t\n\x00\x7f"), "é", "\xa0", "\u2028"]
)
_PREFIX = st.sampled_from(
    ["http://", "https://", "HTTP://", "ftp://", "http:/", "", "https://xn--"]
)
plain = st.from_regex(PLAIN_HTTP_URL, fullmatch=True)


@st.composite
def near_plain(draw: st.DrawFn) -> str:
    """A plain-shaped URL with one odd character put somewhere in it."""
    url = draw(plain)
    at = draw(st.integers(0, len(url)))
    return url[:at] + draw(_ALPHABET) + url[at:]


urlish = st.one_of(
    st.builds(lambda p, rest: p + rest, _PREFIX, st.text(_ALPHABET, max_size=30)),
    near_plain(),
)


@settings(max_examples=200)
@given(urlish)
@example("http://127.0.0.1:41889/news/story-000001.html")
@example("http://a:65535/")
@example("http://a:65536/")
@example("http://a.xn--b/")
@example("http://-/")
@example("https://h.example/p?q=1#f")
@example("HTTP://H.example:80?#")
@example("http://H.example:080#?x")
@example("https://h.example:0443/p?")
@example("http://h.example/?a?b#c#d")
@example("http://a:0/")
@example("http://999.1.1.1/")
@example("http://1.2.3.04/")
@example("http://" + "a" * 64 + ".example/")
def test_a_plain_url_passes_every_general_check(url: str) -> None:
    if plain_http_url(url):
        assert general_url_error(url) is None
        assert general_web_url_problem(url) is None
    assert normalize_url(url) == _normalize_parsed(url)


@settings(max_examples=200)
@given(plain)
def test_every_url_of_the_plain_shape_is_well_formed(url: str) -> None:
    assert normalize_url(url) == _normalize_parsed(url)
    if plain_http_url(url):
        assert general_url_error(url) is None
        assert general_web_url_problem(url) is None
    else:  # a port, label or numeric host out of range
        assert general_url_error(url) is not None


@given(urlish)
def test_url_error_is_the_general_answer(url: str) -> None:
    assert url_error(url) == general_url_error(url)
    assert records.web_url_problem(url) == general_web_url_problem(url)


def test_the_unusual_shapes_take_the_general_path() -> None:
    for url in (
        "HTTP://a.example/",  # upper-case scheme
        "http://xn--nxasmq6b.example/",  # punycode label: validated by the general path
        "http://a..b/",  # empty label: an error
        "http://a.example:99999/",  # port out of range: an error
        "http://a.example/a b",  # whitespace: an error
        "http://a.example/{x}",  # must be percent-encoded: an error
        "http://user@a.example/",  # userinfo
        "http://[::1]/",  # IP literal
        "http://a.example/é",  # non-ASCII
    ):
        assert not plain_http_url(url), url
