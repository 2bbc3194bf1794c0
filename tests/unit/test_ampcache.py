"""AMP Cache URL derivation and URL equivalence."""

import base64
import hashlib
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.rules.ampcache import (
    amp_cache_url,
    ascii_host,
    cache_subdomain,
    comparison_form,
    same_url,
)

# The examples published with the AMP Cache URL format (amp.dev, "AMP Cache URL
# Format and Request Handling": basic-algorithm table, fallback example, URL
# examples) and the reference implementation's README.
PUBLISHED_PREFIXES = [
    ("example.com", "example-com"),
    ("foo.example.com", "foo-example-com"),
    ("foo-example.com", "foo--example-com"),
    ("xn--57hw060o.com", "xn---com-p33b41770a"),  # ⚡😊.com
    ("en-us.example.com", "0-en--us-example-com-0"),
    ("pub.com", "pub-com"),
    ("amp.dev", "amp-dev"),
    ("www.example.com", "www-example-com"),
    # toolbox-cache-url doc comment examples
    ("SOMETHING.COM", "something-com"),
    ("hello-world.com", "hello--world-com"),
    ("hello--world.com", "hello----world-com"),
]


@pytest.mark.parametrize(("host", "prefix"), PUBLISHED_PREFIXES)
def test_published_domain_prefixes(host: str, prefix: str) -> None:
    assert cache_subdomain(host) == prefix


PUBLISHED_URLS = [
    (
        "https://amp.dev/documentation/examples/api/query?value=Hello%20World",
        "https://amp-dev.cdn.ampproject.org/c/s/amp.dev/documentation/examples/api/query?value=Hello%20World",
    ),
    ("https://www.example.com", "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/"),
    ("https://hello-world.com", "https://hello--world-com.cdn.ampproject.org/c/s/hello-world.com/"),
    (
        "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
        "https://techcrunch-com.cdn.ampproject.org/c/s/techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
    ),
    (
        "https://www.theverge.com/platform/amp/2020/4/17/21224718/x",
        "https://www-theverge-com.cdn.ampproject.org/c/s/www.theverge.com/platform/amp/2020/4/17/21224718/x",
    ),
]


@pytest.mark.parametrize(("url", "cache"), PUBLISHED_URLS)
def test_published_urls(url: str, cache: str) -> None:
    assert amp_cache_url(url) == cache


def test_http_has_no_s_infix_and_fragment_is_dropped() -> None:
    assert (
        amp_cache_url("http://Example.COM:80/A/b?x=1&y=2#top")
        == "https://example-com.cdn.ampproject.org/c/example.com/A/b?x=1&y=2"
    )


def test_default_https_port_dropped_and_cache_domain_configurable() -> None:
    assert (
        amp_cache_url("https://example.com:443/a", cache_domain="Bing-Amp.com.")
        == "https://example-com.bing-amp.com/c/s/example.com/a"
    )


def fallback(host: str) -> str:
    return base64.b32encode(hashlib.sha256(host.encode()).digest()).decode().rstrip("=").lower()


def test_fallback_shape_matches_published_example() -> None:
    # "a 52 character string ... with no - (hyphen)"
    label = cache_subdomain("a" * 70 + ".example.com")
    assert re.fullmatch(r"[a-z2-7]{52}", label)
    assert label == fallback("a" * 70 + ".example.com")


def test_fallback_boundary_at_63_characters() -> None:
    sixty_three = "a" * 59 + ".com"  # encodes to 63 characters
    assert cache_subdomain(sixty_three) == "a" * 59 + "-com"
    assert cache_subdomain("a" * 60 + ".com") == fallback("a" * 60 + ".com")


def test_wrapping_counts_towards_the_length_limit() -> None:
    host = "en-" + "a" * 54 + ".com"  # 62 characters before the 0-…-0 wrap, 66 after
    assert cache_subdomain(host) == fallback(host)
    short = "en-" + "a" * 50 + ".com"
    assert cache_subdomain(short) == "0-en--" + "a" * 50 + "-com-0"


def test_hyphens_at_3_4_in_the_host_are_wrapped() -> None:
    assert cache_subdomain("ab--cd.com") == "0-ab----cd-com-0"
    assert cache_subdomain("a--b.example.com") == "0-a----b-example-com-0"


def test_wrap_is_decided_before_punycode_encoding() -> None:
    # ab-ü.com → "ab--ü-com" (hyphens at 3-4) → "0-ab--ü-com-0" → punycode
    label = cache_subdomain("ab-ü.com")
    assert label.startswith("xn--0-ab---com-0-")
    assert label.encode().decode() == label
    assert label[4:].encode().decode("punycode") == "0-ab--ü-com-0"


def test_unicode_and_punycode_spellings_agree() -> None:
    assert cache_subdomain("⚡😊.com") == cache_subdomain("xn--57hw060o.com")
    assert cache_subdomain("Bücher.Example") == cache_subdomain("xn--bcher-kva.example")
    assert cache_subdomain("bücher.example") == "xn--bcher-example-wob"  # oracle's answer


def test_mixed_direction_falls_back() -> None:
    assert cache_subdomain("مثال.com") == fallback(ascii_host("مثال.com"))
    # only right-to-left letters: a readable label
    label = cache_subdomain("דוגמה.טעסט")
    assert label.startswith("xn--") and label != fallback(ascii_host("דוגמה.טעסט"))


def test_dotless_host_and_bad_labels_fall_back() -> None:
    assert cache_subdomain("localhost") == fallback("localhost")
    assert cache_subdomain("-a.example") == fallback("-a.example")
    assert cache_subdomain("under_score.example") == fallback("under_score.example")


def test_ipv4_host_is_treated_as_a_name() -> None:
    assert (
        amp_cache_url("https://192.0.2.1/x")
        == "https://192-0-2-1.cdn.ampproject.org/c/s/192.0.2.1/x"
    )


def test_trailing_root_dot_names_the_same_host() -> None:
    assert cache_subdomain("example.com.") == "example-com"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/a", "not an http"),
        ("mailto:a@example.com", "not an http"),
        ("/relative/path", "not an http"),
        ("https:///nohost", "no host"),
        ("https://example.com:8443/a", "port 8443"),
        ("https://example.com:99999/a", "not a valid URL"),
        ("https://user:pw@example.com/a", "credentials"),
        ("https://[2001:db8::1]/a", "IPv6"),
        ("https://xn--99999999999.example/a", "punycode"),
    ],
)
def test_refused_urls_say_why(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        amp_cache_url(url)


# --- equivalence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/amp/?x=1", "https://example.com/amp?x=1"),
        ("https://example.com/amp/", "https://example.com/amp"),
        ("https://example.com", "https://example.com/"),
        ("HTTPS://EXAMPLE.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("https://example.com/a%7eb", "https://example.com/a~b"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/a#frag", "https://example.com/a"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://[2001:DB8:0::1]/", "https://[2001:db8::1]"),
    ],
)
def test_equivalent_spellings(a: str, b: str) -> None:
    assert same_url(a, b)
    assert same_url(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "http://example.com/a"),
        ("https://example.com/A", "https://example.com/a"),
        ("https://example.com/a?x=1&y=2", "https://example.com/a?y=2&x=1"),
        ("https://example.com:8443/a", "https://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://example.com/a//", "https://example.com/a"),
        ("https://example.com/a%2fb", "https://example.com/a/b"),
        ("https://example.com/a", "ftp://example.com/a"),
        ("not a url", "https://example.com/"),
    ],
)
def test_different_urls(a: str, b: str) -> None:
    assert not same_url(a, b)
    assert not same_url(b, a)


def test_unparseable_equal_only_to_itself() -> None:
    assert same_url("ftp://x", "ftp://x")
    with pytest.raises(ValueError):
        comparison_form("ftp://x")


# --- properties -------------------------------------------------------------

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
ASCII_HOST = st.lists(LABEL, min_size=2, max_size=5).map(".".join)
UNICODE_LABEL = st.text(
    alphabet=st.sampled_from("abcxyz019-éüßжлщ中文⚡😊"), min_size=1, max_size=12
).filter(lambda s: not s.startswith("-") and not s.endswith("-") and s[2:4] != "--")
IDN_HOST = st.lists(UNICODE_LABEL, min_size=2, max_size=4).map(".".join)
PATH = st.lists(st.from_regex(r"[A-Za-z0-9_.~-]{1,8}", fullmatch=True), max_size=4).map(
    lambda segs: "/" + "/".join(segs)
)
QUERY = st.one_of(st.just(""), st.from_regex(r"\?[a-z]{1,4}=[A-Za-z0-9%]{0,6}", fullmatch=True))


def _reverse(prefix: str) -> str:
    """The format's reverse mapping (CORS origin → publisher domain)."""
    text = prefix
    if text.startswith("xn--"):
        text = text[4:].encode().decode("punycode")
    if text.startswith("0-") and text.endswith("-0"):
        text = text[2:-2]
    return re.sub(r"--|-", lambda m: "-" if m.group() == "--" else ".", text)


@given(st.one_of(ASCII_HOST, IDN_HOST))
def test_prefix_is_a_valid_label_and_reverses_to_the_host(host: str) -> None:
    prefix = cache_subdomain(host)
    # a host that comes out as "0-…-0" before punycode ("0.….0", "0.0-0",
    # "0.ß.0") is what the reverse algorithm reads as a wrap: an ambiguity of the
    # format itself (such all-digit TLDs do not exist)
    unwrapped = prefix[4:].encode().decode("punycode") if prefix.startswith("xn--") else prefix
    assume(not (unwrapped.startswith("0-") and unwrapped.endswith("-0")))
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix)
    if "-" in prefix:  # readable: the published reverse algorithm gives the host back
        assert ascii_host(_reverse(prefix)) == ascii_host(host)
    else:  # no hyphen: only the hash (or a dotless host, which also hashes)
        assert prefix == fallback(ascii_host(host))


@given(ASCII_HOST, ASCII_HOST)
def test_distinct_hosts_get_distinct_prefixes(a: str, b: str) -> None:
    assert (cache_subdomain(a) == cache_subdomain(b)) == (a == b)


@given(st.sampled_from(["http", "https"]), st.one_of(ASCII_HOST, IDN_HOST), PATH, QUERY)
def test_cache_url_structure(scheme: str, host: str, path: str, query: str) -> None:
    url = f"{scheme}://{host}{path}{query}"
    cache = amp_cache_url(url)
    infix = "s/" if scheme == "https" else ""
    assert cache == (
        f"https://{cache_subdomain(host)}.cdn.ampproject.org/c/{infix}{ascii_host(host)}{path}{query}"
    )
    if host.isascii():
        shouted = f"{scheme.upper()}://{host.upper()}{path}{query}"
        assert same_url(cache, amp_cache_url(shouted))


@given(ASCII_HOST, PATH, QUERY)
def test_same_url_is_reflexive_and_ignores_default_port_and_host_case(
    host: str, path: str, query: str
) -> None:
    url = f"https://{host}{path}{query}"
    assert same_url(url, url)
    assert same_url(url, f"https://{host.upper()}:443{path}{query}")
    assert same_url(url, f"https://{host}{path.rstrip('/')}/{query}")
    assert comparison_form(comparison_form(url)) == comparison_form(url)
