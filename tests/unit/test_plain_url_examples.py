"""Targeted hosts and URLs for the plain fast paths (b7344ef, 903a5e2): uppercase,
trailing dots, IDN and mixed-case `xn--`, IPv6 literals, ports, percent-encoding,
empty query and fragment. Each fast answer equals the general rule's (issue 16
hostile review; found fine)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import monitor.rules.ampcache as ampcache
from monitor.url_hosts import _ascii_host_labels
from monitor.urls import ascii_host, host_of

URLS = [
    "http://A.Example.COM",
    "https://a.b:443",
    "https://a.b:0443/x",
    "http://a.b:80?",
    "http://a.b?q",
    "http://a.b#f",
    "http://a.b/?#",
    "http://a.b/#?",
    "https://a-.b/",
    "https://-a.b/",
    "https://a_b.c/",
    "http://1.2.3.4/x",
    "http://01.2.3.4/",
    "http://a.b:443/",
    "http://a.b:65535/",
    "https://a.b/%41?%42",
    "https://a.b/;x",
    "https://a.b/~@[]",
    "https://a..b/",
    "https://news.example./x",
    "https://XN--bcher-kva.example/",
    "https://xn--Bcher-KVA.example/",
    "https://bücher.example/",
    "https://BÜCHER.example/",
    "http://[::1]/x",
    "http://[2001:DB8::1]:8080/x",
    "http://user:pw@news.example/x",
    "HTTP://news.example/x",
]


def _general_cache_url(url: str) -> str:
    real = ampcache.plain_match
    ampcache.plain_match = lambda _: None  # type: ignore[assignment]
    try:
        return ampcache.amp_cache_url(url)
    finally:
        ampcache.plain_match = real


def _answer(fn: object, url: str) -> str:
    try:
        return fn(url)  # type: ignore[operator,no-any-return]
    except ValueError as exc:
        return f"ValueError: {type(exc).__name__}"


@pytest.mark.parametrize("url", URLS)
def test_the_plain_cache_url_equals_the_general_one(url: str) -> None:
    assert _answer(ampcache.amp_cache_url, url) == _answer(_general_cache_url, url)


@pytest.mark.parametrize("url", URLS)
def test_host_of_equals_urlsplit(url: str) -> None:
    assert host_of(url) == (urlsplit(url.strip()).hostname or "")


@pytest.mark.parametrize(
    "host",
    [
        "A.Example.COM",
        "news.example.",
        "XN--bcher-kva.example",
        "xn--Bcher-KVA.example",
        "bücher.example",
        "BÜCHER.example",
        "a..b",
        "xn--",
        "",
    ],
)
def test_ascii_host_equals_the_label_walk(host: str) -> None:
    assert _answer(ascii_host, host) == _answer(_ascii_host_labels, host)
