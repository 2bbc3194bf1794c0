"""The plain-URL fast path agrees with the general URL checks it lets us skip."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor import urls
from monitor.corpus import records
from monitor.url_plain import plain_any_length
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


def _plain_rule_as_written(url: str) -> bool:
    """`plain_any_length`'s answer by its rules as first written, each asked of
    every URL (the fast path asks each only where it can hold: issue 16)."""
    match = PLAIN_HTTP_URL.fullmatch(url)
    if match is None:
        return False
    host, port = match.group("host", "port")
    if "xn--" in host.lower() or len(host) > 253 or re.search(r"[^.]{64}", host):
        return False
    last = host.rpartition(".")[2].lower()
    ipv4 = re.fullmatch(
        r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
        host,
    )
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", last) and not ipv4:
        return False
    return port is None or 0 < int(port) <= 65535


# hosts where the guarded rules decide: labels of digits, hex, punycode in
# either case, a dash pair, labels of 63 and 64 characters, hosts near 253
_LABEL = st.one_of(
    st.from_regex(r"[0-9]{1,4}|0[xX][0-9a-fA-F]{0,3}|[xX][nN]--[a-z0-9]{0,3}", fullmatch=True),
    st.from_regex(r"[a-zA-Z0-9-]{1,6}", fullmatch=True),
    st.sampled_from(["a" * 63, "b" * 64, "9" * 64, "x-" * 32, "a--b", "1e5", "0x", "0X"]),
)


@st.composite
def guarded_host_url(draw: st.DrawFn) -> str:
    labels = draw(st.lists(_LABEL, min_size=1, max_size=5))
    if draw(st.booleans()):
        labels = labels * draw(st.integers(1, 40))  # past 253 characters, some
    port = draw(st.sampled_from(["", ":80", ":0", ":65535", ":65536"]))
    return f"{draw(st.sampled_from(['http', 'https']))}://{'.'.join(labels)}{port}/p"


@settings(max_examples=200)
@given(guarded_host_url())
@example("http://1.2.3.4/")
@example("http://1.2.3.256/")
@example("http://a.0x1F/")
@example("http://a.XN--b/")
@example("http://a-.-b/")
@example("http://" + "a" * 63 + "/")
@example("http://" + "a" * 64 + "/")
@example("http://" + ".".join(["a" * 63] * 4) + "/")
@example("http://" + ".".join(["a" * 50] * 5) + "a/")
def test_the_plain_shape_answers_as_its_rules_first_written(url: str) -> None:
    """Each rule of the plain shape asked only where it can hold (its guard:
    a "--" for punycode, 64 characters for a long label, a leading digit for a
    numeric one) answers as asking it of every URL did."""
    assert (plain_any_length.__wrapped__(url) is not None) == _plain_rule_as_written(url)
