"""The plain match that a document's rules share reads a URL as urlsplit does:
the host of `host_of` and the AMP cache URL of `amp_cache_url` are the ones the
general parse gives (issue 16: one parse per URL, not one per rule)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor import url_hosts, urls
from monitor.rules import ampcache
from monitor.urls import PLAIN_HTTP_URL

_ODD = st.sampled_from([*"abcxnXN019-.:/?#@[]%_~!$&=", "é", " "])


@st.composite
def plainish(draw: st.DrawFn) -> str:
    """A plain-shaped URL, sometimes with an odd character put somewhere in it."""
    url = draw(st.from_regex(PLAIN_HTTP_URL, fullmatch=True))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(_ODD) + url[at:]
    return url


def _general_host(url: str) -> str:
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def _general_cache_url(url: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ampcache, "plain_match", lambda _url: None)
        return ampcache.amp_cache_url(url)


_EXAMPLES = [
    "http://127.0.0.1:41889/news/story-000001.html",
    "https://WWW.Example.com:443/a?b",
    "https://www.example.com:0443/a?",
    "http://www.example.com:8080/a",
    "http://www.example.com?q#f",
    "http://www.example.com#f",
    "https://a-b.example/x?y@z",
]


def assert_same_answer(general: Callable[[str], str], fast: Callable[[str], str], arg: str) -> None:
    """The fast path gives the general reading's answer, or its ValueError."""
    answers: list[str | ValueError] = []
    for fn in (general, fast):
        try:
            answers.append(fn(arg))
        except ValueError as exc:
            answers.append(exc)
    want, got = answers
    if isinstance(want, ValueError):
        assert isinstance(got, ValueError) and str(got) == str(want)
    else:
        assert got == want


@settings(max_examples=300)
@given(plainish())
@example(_EXAMPLES[0])
@example(_EXAMPLES[1])
@example(_EXAMPLES[2])
@example(_EXAMPLES[3])
@example(_EXAMPLES[4])
@example(_EXAMPLES[5])
@example(_EXAMPLES[6])
def test_host_of_reads_the_host_urlsplit_reads(url: str) -> None:
    assert urls.host_of(url) == _general_host(url)


@settings(max_examples=300)
@given(url=plainish())
@example(url=_EXAMPLES[0])
@example(url=_EXAMPLES[1])
@example(url=_EXAMPLES[2])
@example(url=_EXAMPLES[3])
@example(url=_EXAMPLES[4])
@example(url=_EXAMPLES[6])
def test_the_cache_url_of_a_plain_url_is_the_general_one(url: str) -> None:
    assert_same_answer(_general_cache_url, ampcache.amp_cache_url, url)


def test_the_shared_parse_is_taken_for_a_benchmark_url() -> None:
    assert urls.plain_match(_EXAMPLES[0]) is not None


_HOSTISH = st.text(st.sampled_from([*"aAzZ09-._xnXN", "K", "é", "É", "ß", "⚡", "İ"]), max_size=20)


@settings(max_examples=400)
@given(_HOSTISH)
@example("WWW.Example.COM")
@example("xn--57hw060o.com")
@example("XN--bad")
@example("\u212a.example")
def test_ascii_host_of_an_ascii_name_is_the_label_by_label_answer(host: str) -> None:
    assert_same_answer(url_hosts._ascii_host_labels, urls.ascii_host, host)
