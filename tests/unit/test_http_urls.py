"""The checker's URL fast path builds exactly the URL the general parse builds."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from yarl import URL

from monitor import urls
from monitor.http.attempt import request_key
from monitor.http.target_url import _AS_IS, PlainURL, _parse_general, parse_target

_ODD = st.sampled_from([*"/.%?#[]@:AZaz09-_~!$&'()*+,;= <>\"{}|\\^`", "é", "\x7f"])


@st.composite
def near_as_is(draw: st.DrawFn) -> str:
    """An as-is-shaped URL, sometimes with an odd character put somewhere in it."""
    url = draw(st.from_regex(_AS_IS, fullmatch=True))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(_ODD) + url[at:]
    return url


@settings(max_examples=300)
@given(near_as_is())
@example("http://127.0.0.1:41889/news/story-000001.html")
@example("http://a/./b")
@example("http://a/b/../c?x")
@example("http://a:80/b")
@example("https://a:443/b")
@example("http://a:65536/")
@example("http://a:99999/")
@example("http://a/b?[x]")
@example("http://a/%7e")
def test_the_fast_path_builds_the_general_url(url: str) -> None:
    fast, slow = parse_target(url), _parse_general(url) if urls.requestable(url) else None
    if slow is None:
        assert fast is None
        return
    assert fast is not None
    assert str(fast) == str(slow)
    assert fast.raw_path_qs == slow.raw_path_qs
    assert (fast.scheme, fast.raw_host, fast.port) == (slow.scheme, slow.raw_host, slow.port)
    assert fast.host_subcomponent == slow.host_subcomponent
    assert fast.is_default_port() == slow.is_default_port()
    assert fast.join(URL("../x?y")) == slow.join(URL("../x?y"))


def test_the_fast_path_is_taken_for_a_benchmark_url() -> None:
    assert _AS_IS.fullmatch("http://127.0.0.7:41889/img/story-000001-0-1200x675.png")


@settings(max_examples=300)
@given(near_as_is())
@example("http://a:0/")
@example("http://a/b")
@example("https://a.b:443/c?d")
def test_a_vetted_url_is_parsed_as_the_unvetted_one(url: str) -> None:
    """`check`'s own share skips the rule its reader asked: the same URL comes out."""
    if not urls.requestable(url):
        assert parse_target(url) is None
        return
    fast, slow = parse_target(url, vetted=True), parse_target(url)
    assert fast is not None and slow is not None
    assert str(fast) == str(slow)
    assert (fast.scheme, fast.raw_host, fast.port, fast.raw_path_qs) == (
        slow.scheme,
        slow.raw_host,
        slow.port,
        slow.raw_path_qs,
    )


# `_AS_IS` before its quantifiers were made possessive (the backtracking form):
# the possessive one must match the same strings, with the same groups.
_BACKTRACKING_AS_IS = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[1-9][0-9]{0,4})?)"
    r"(/[!$&-;=@-Z_a-z~]*)"
    r"(?:\?([!$&-;=?-Z_a-z~]*))?"
)


@settings(max_examples=1000)
@given(
    st.one_of(
        near_as_is(),
        st.from_regex(r"https?://[a-z0-9.:-]{0,12}(/[a-z0-9./:?#-]{0,12})?", fullmatch=True),
    )
)
@example("http://a..b/")
@example("http://a.:80/")
@example("http://a:8080:1/")
@example("http://a:123456/")
@example("http://a/b?c?d")
@example("http://a.b-/c")
def test_the_possessive_pattern_matches_as_the_backtracking_one(url: str) -> None:
    fast, slow = _AS_IS.fullmatch(url), _BACKTRACKING_AS_IS.fullmatch(url)
    assert (fast and fast.groups()) == (slow and slow.groups())


def _pieces(url: PlainURL | URL, host_header: str | None) -> tuple[object, ...]:
    """What the engine, client, probe and request_key read of a target."""
    return (
        url.scheme,
        url.raw_host,
        url.port,
        url.explicit_port,
        url.is_default_port(),
        url.host_subcomponent,
        host_header,
        url.raw_path,
        url.raw_path_qs,
        str(url),
        request_key(url),
    )


def _plain_pieces(url: PlainURL | URL) -> tuple[object, ...]:
    return _pieces(url, url.host_header if isinstance(url, PlainURL) else None)


def _yarl_pieces(url: URL) -> tuple[object, ...]:
    """yarl's reading of the same pieces; the Host header as the client wrote it
    from yarl's URL before the plain object (the host, its port unless default)."""
    host_header = url.host_subcomponent
    if not url.is_default_port():
        host_header = f"{host_header}:{url.port}"
    return _pieces(url, host_header)


def _assert_plain_is_yarl(url: str) -> None:
    target = parse_target(url)
    if not isinstance(target, PlainURL):
        return
    assert _plain_pieces(target) == _yarl_pieces(URL(url))
    # yarl's URL, built only where its semantics are needed (a redirect's Location)
    assert str(target.url) == str(URL(url))
    for location in ("../x?y", "/", "?q", "//other.example/p", "https://b/c"):
        assert target.join(URL(location)) == URL(url).join(URL(location))


@settings(max_examples=300)
@given(near_as_is())
@example("http://a:80/b")
@example("https://a:443/b")
@example("http://a:443/b")
@example("https://a:80/b")
@example("http://a:8080/b?")
@example("http://a/b?")
@example("https://a.b:443/c?")
@example("http://a/b?c?d")
@example("http://a:65535/")
@example("http://127.0.0.1:41889/news/story-000001.html?x=1")
def test_a_plain_target_reads_as_yarl_reads_it(url: str) -> None:
    """Every piece the plain target gives the engine and the client (the request
    line, the Host header, the pool's key, the loop key, the report's text) is
    yarl's for `URL(url)`: explicit default ports dropped as yarl drops them.
    Takes ~2-4 s (drawing from the pattern, as its neighbours do): the examples
    it needs to find a wrong piece (each of five tried was found)."""
    _assert_plain_is_yarl(url)


@settings(max_examples=300)
@given(st.text(max_size=40).map(lambda rest: "http://" + rest) | st.text(max_size=48))
def test_a_plain_target_from_any_text_reads_as_yarl_reads_it(url: str) -> None:
    _assert_plain_is_yarl(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://A.example/x",  # uppercase host
        "HTTP://a.example/x",  # uppercase scheme
        "http://bücher.example/",  # IDN
        "http://[::1]:8080/x",  # IPv6
        "http://a.example/%7e",  # percent
        "http://a.example/b/../c",  # dot segment
        "http://a.example/./c",
        "http://a.example",  # no path
        "http://a.example/b#f",  # fragment
        "http://a.example:080/",  # port with a leading zero
    ],
)
def test_other_spellings_take_yarls_path(url: str) -> None:
    target = parse_target(url)
    assert isinstance(target, URL)
    assert str(target) == str(URL(url))


def test_an_out_of_range_port_is_refused_on_the_plain_path() -> None:
    assert _AS_IS.fullmatch("http://a:65536/")
    assert parse_target("http://a:65536/") is None
    assert parse_target("http://a:99999/") is None
