"""put_off finds each queued URL's host key by the URL's start, parsed once a
host (queue.py `_host_key_of`): the start must always name the host
`url_host_key` reads in the whole URL, or a held host's targets were left
due (or another host's put off)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.storage.queue import _host_key_of
from monitor.urls import url_host_key

URLS = [
    "http://[::1]:8080/8",
    "https://bücher.test/9",
    "https://BÜCHER.test./x/y",
    "http://h.test?x/y",
    "http://h.test#a/b",
    "https://u:p@h.test:9/x",
    "http:///x",
    "http://a",
    "http://h\t.test/x",  # urlsplit drops the tab: parsed whole
    "http://[::1/x",
    "httpsxyz://host.test/a/b",  # a scheme longer than https: its `//` after index 8
    "web+feed://host.test/a",
    "http:/x//y/z",
    "//host.test/x",
]


@pytest.mark.parametrize("url", URLS)
def test_the_start_of_a_url_names_its_host(url: str) -> None:
    assert _host_key_of(url, {}) == url_host_key(url)


@given(
    st.sampled_from(["http://", "https://", "feed+https://", "x:", ""]), st.text("ab/:?#@[]. %\t")
)
def test_any_url_start_names_its_host(scheme: str, rest: str) -> None:
    known: dict[str, str | None] = {}
    assert _host_key_of(scheme + rest, known) == url_host_key(scheme + rest)
    assert _host_key_of(scheme + rest, known) == url_host_key(scheme + rest)  # from `known`
