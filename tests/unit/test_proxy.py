"""The `proxy` and `no_proxy` settings (monitor/proxy.py) and the CONNECT answer
head's reading (monitor/http/proxy_tunnel.py), pure."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import ConfigError, Settings, load_settings
from monitor.http.proxy_tunnel import ProxyRoute, connect_status, head_end
from monitor.proxy import ProxyUrl
from monitor.request_headers import revealed_json

SECRET = "s3cr:t/@pw"  # a colon, a slash and an at sign: percent-encoded in the URL
ENCODED = "s3cr%3At%2F%40pw"
URL = f"http://ops%40news:{ENCODED}@proxy.example:3128"


def test_a_proxy_url_is_parsed_and_its_password_kept_secret() -> None:
    proxy = ProxyUrl.parse(URL)
    assert (proxy.host, proxy.port, proxy.username) == ("proxy.example", 3128, "ops@news")
    assert proxy.address == "proxy.example:3128"
    assert proxy.password is not None and proxy.password.get_secret_value() == SECRET
    route = ProxyRoute(proxy, [])
    import base64

    assert (
        route.authorization == "Basic " + base64.b64encode(b"ops@news:" + SECRET.encode()).decode()
    )
    for shown in (str(proxy), repr(proxy), repr(route)):
        assert SECRET not in shown and "s3cr" not in shown


def test_ipv6_proxies_and_no_credentials() -> None:
    proxy = ProxyUrl.parse("http://[::1]:8888/")
    assert (proxy.address, proxy.dial_host, proxy.authorization()) == ("[::1]:8888", "::1", None)


def test_the_settings_show_the_password_as_stars_but_the_frame_carries_it() -> None:
    settings = load_settings(flags={"proxy": URL, "no_proxy": ["*.corp.example", "10.0.0.7"]})
    shown = json.dumps(settings.redacted())
    assert "s3cr" not in shown
    assert settings.redacted()["proxy"] == "http://ops%40news:***@proxy.example:3128"
    frame = revealed_json(settings)
    back = Settings.model_validate_json(frame)
    assert back.proxy is not None and back.proxy.password is not None
    assert back.proxy.password.get_secret_value() == SECRET
    assert back == settings


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (f"https://u:{ENCODED}@proxy.example:3128", "the scheme 'https' is not supported"),
        (f"socks5h://u:{ENCODED}@proxy.example:1080", "the scheme 'socks5h' is not supported"),
        (f"u:{ENCODED}@proxy.example:3128", "no scheme given"),
        (f"http://u:{ENCODED}@proxy.example", "give the port"),
        (f"http://u:{ENCODED}@proxy.example:0", "give the port"),
        (f"http://u:{ENCODED}@proxy.example:70000", "not a number from 1 to 65535"),
        (f"http://u:{ENCODED}@proxy.example:3128/x", "no path, query or fragment"),
        (f"http://u:{ENCODED}@proxy.example:3128?a=1", "no path, query or fragment"),
        ("http://u:pw@:3128", "no host given"),
        ("http://u:p%0Dw@proxy.example:3128", "control or non-ASCII character"),
        # a password holding a delimiter as typed: urlsplit read it as a port, a path
        # or a fragment ("the port is not a number") and never said what to do
        ("http://u:s3cr/et@proxy.example:3128", "percent-encode it (%2F, %3F, %23)"),
        ("http://u:s3cr?et@proxy.example:3128", "percent-encode it (%2F, %3F, %23)"),
        ("http://u:s3cr#et@proxy.example:3128", "percent-encode it (%2F, %3F, %23)"),
        ("http://s3cr#et:@proxy.example:3128", "percent-encode it (%2F, %3F, %23)"),
    ],
)
def test_a_bad_proxy_is_refused_without_showing_it(given: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"ARTICLE_MONITOR_PROXY": given})
    text = str(caught.value)
    assert "proxy (from environment ARTICLE_MONITOR_PROXY)" in text
    assert said in text
    assert "s3cr" not in text and "p%0Dw" not in text


def test_an_empty_proxy_is_none_and_no_proxy_splits_on_commas() -> None:
    settings = load_settings(
        environ={"ARTICLE_MONITOR_PROXY": "", "ARTICLE_MONITOR_NO_PROXY": "a.example, *.b.example"}
    )
    assert settings.proxy is None
    assert settings.no_proxy == ["a.example", "*.b.example"]
    assert load_settings(flags={"proxy": " "}).proxy is None


def test_a_variable_opening_with_a_bracketed_ipv6_address_splits_on_commas() -> None:
    """`[::1]` is a no_proxy host (and a --connect-to HOST1) as written in NO_PROXY;
    a variable opening with one was read as JSON: `not valid JSON`, exit 2."""
    settings = load_settings(
        environ={
            "ARTICLE_MONITOR_NO_PROXY": "[::1], localhost",
            "ARTICLE_MONITOR_CONNECT_TO": "[2001:db8::1]:443:127.0.0.1:8443",
        }
    )
    assert settings.no_proxy == ["[::1]", "localhost"]
    assert [(c.host1, c.port2) for c in settings.connect_to] == [("2001:db8::1", 8443)]
    # a JSON list is still one
    assert load_settings(environ={"ARTICLE_MONITOR_NO_PROXY": '["[::1]"]'}).no_proxy == ["[::1]"]


@pytest.mark.parametrize(
    "bad", ["http://a.example", "a.example:80", "*", "a.*.example", "*.10.0.0.1"]
)
def test_a_bad_no_proxy_pattern_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="no_proxy"):
        load_settings(flags={"no_proxy": [bad]})


def test_no_proxy_matches_hosts_as_request_headers_do() -> None:
    route = ProxyRoute(
        ProxyUrl.parse("http://proxy.example:3128"), ["intranet.example", "*.corp.example", "::1"]
    )
    bypass = route.bypass
    assert bypass("intranet.example") and bypass("INTRANET.example.")
    assert bypass("a.corp.example") and bypass("a.b.corp.example")
    assert not bypass("corp.example")  # `*.` is the subdomains, not the apex
    assert bypass("::1") and not bypass("news.example")


# -- the CONNECT answer's head -------------------------------------------------


def test_connect_status_reads_the_status_line() -> None:
    assert connect_status(b"HTTP/1.1 200 Connection established\r\n\r\n") == (
        200,
        "Connection established",
    )
    assert connect_status(b"HTTP/1.0 407 Proxy Authentication Required\r\nA: b\r\n\r\n") == (
        407,
        "Proxy Authentication Required",
    )
    assert connect_status(b"HTTP/1.1 200\r\n\r\n") == (200, "")
    for garbage in (b"SSH-2.0-x\r\n\r\n", b"HTTP/2 200\r\n\r\n", b"HTTP/1.1 20 x\r\n\r\n", b""):
        with pytest.raises(ValueError):
            connect_status(garbage)


heads = st.builds(
    lambda status, reason, headers, eol: (
        f"HTTP/1.1 {status} {reason}{eol}" + "".join(f"X-{n}: {v}{eol}" for n, v in headers) + eol
    ).encode(),
    st.integers(100, 599),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.lists(
        st.tuples(
            st.text("abcdefghij", min_size=1, max_size=8),
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
        ),
        max_size=5,
    ),
    st.sampled_from(["\r\n", "\n"]),
)


@given(head=heads, rest=st.binary(max_size=64), cut=st.integers(0, 10_000))
def test_the_head_ends_at_its_blank_line_however_it_arrives(
    head: bytes, rest: bytes, cut: int
) -> None:
    """Whole, the head's end is found exactly, whatever follows it; cut short, it is
    found in no prefix (the reader keeps reading)."""
    assert head_end(head + rest) == len(head)
    assert head_end(head[: cut % len(head)]) is None
    status, _ = connect_status(head)
    assert status == int(head[9:12])
