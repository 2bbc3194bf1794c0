"""Pure: the AMP Cache URL an AMP page is served at, and URL equivalence.

`cdnAmpWebUrl` must be the Google AMP Cache URL of `ampWebUrl` (CONTRACT
section 1). The derivation follows the published "AMP Cache URL Format"
(amp.dev, guides-and-tutorials/learn/amp-caches-and-cors/amp-cache-urls);
docs/amp-cache.md records where we read the format more strictly than its
reference implementation (@ampproject/toolbox-cache-url) and why.

The mismatch check compares with `monitor.urls.same`, the one URL
equivalence of the project (re-exported here as `same_url`), so equivalent
spellings are never reported, and never judged differently elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

from monitor.url_compare import split_http
from monitor.urls import ascii_host, comparison_form, decode_label, plain_match, shown
from monitor.urls import same as same_url

__all__ = [
    "DEFAULT_CACHE_DOMAIN",
    "amp_cache_url",
    "ascii_host",
    "cache_subdomain",
    "comparison_form",
    "same_url",
]

DEFAULT_CACHE_DOMAIN = "cdn.ampproject.org"
MAX_LABEL = 63
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_RTL = frozenset({"R", "AL", "AN"})


def _unicode_host(host: str) -> str:
    return ".".join(decode_label(label) for label in host.split("."))


def _encode_label(text: str) -> str:
    if text.isascii():
        return text
    return "xn--" + text.encode("punycode").decode("ascii")


def _mixed_direction(text: str) -> bool:
    """Left-to-right and right-to-left letters together: not a valid label (RFC 5893)."""
    classes = {unicodedata.bidirectional(ch) for ch in text}
    return "L" in classes and not classes.isdisjoint(_RTL)


def _valid_label(label: str) -> bool:
    """A DNS host label: 1-63 letters, digits and hyphens, no hyphen at either end,
    and `--` at positions 3-4 only as the punycode `xn--` prefix."""
    if not 0 < len(label) <= MAX_LABEL or not _LDH_LABEL.fullmatch(label):
        return False
    return label[2:4] != "--" or label.startswith("xn--")


def _fallback_label(name: str) -> str:
    """Base32 of the SHA-256 of the ASCII host name, lower case, padding dropped (52 chars)."""
    digest = hashlib.sha256(name.encode("ascii")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def cache_subdomain(host: str) -> str:
    """The domain prefix of `host` on an AMP cache (`www.example.com` → `www-example-com`).

    Basic algorithm: punycode-decode, `-` → `--`, `.` → `-`, wrap in `0-…-0`
    when positions 3-4 hold `--`, punycode-encode. When that is not a valid
    DNS label (over 63 characters, mixed writing direction, not letters,
    digits and hyphens) or the host has no dot, the hashed fallback is used.
    A trailing root dot (`example.com.`) names the same host and is ignored.
    """
    name = ascii_host(host)
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValueError("empty host")
    text = _unicode_host(name)
    if "." not in name or _mixed_direction(text):
        return _fallback_label(name)
    basic = text.replace("-", "--").replace(".", "-")
    if basic[2:4] == "--":
        basic = f"0-{basic}-0"
    label = _encode_label(basic).lower()
    return label if _valid_label(label) else _fallback_label(name)


def amp_cache_url(url: str, *, cache_domain: str = DEFAULT_CACHE_DOMAIN) -> str:
    """The AMP Cache URL (content, `/c/`) at which the AMP page `url` is served.

    `https://<prefix>.<cache_domain>/c/` + `s/` for https + host, path and
    query of `url`; the fragment is dropped, an empty path becomes `/`, a
    default port is dropped and the host is written in lower-case ASCII.
    Raises ValueError for what no AMP cache can serve: a non-http(s) or
    hostless URL, a non-default port, credentials in the URL, an IPv6 host.
    """
    match = plain_match(url)
    if match is not None:
        return _plain_cache_url(match, url, cache_domain)
    parts, scheme, host = split_http(url)
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"URL carries credentials, which an AMP cache never forwards: {shown(url)!r}"
        )
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        raise ValueError(
            f"URL uses port {port}; AMP caches fetch only from the default port: {shown(url)!r}"
        )
    if ":" in host:
        raise ValueError(f"IPv6 address hosts have no AMP cache subdomain: {shown(url)!r}")
    name = ascii_host(host)
    prefix = cache_subdomain(name)
    domain = cache_domain.strip().strip(".").lower()
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    secure = "s/" if scheme == "https" else ""
    return f"https://{prefix}.{domain}/c/{secure}{name}{path}{query}"


def _plain_cache_url(match: re.Match[str], url: str, cache_domain: str) -> str:
    """`amp_cache_url` of a plain URL (`monitor.urls.plain_match`), from the parse
    the document's other rules made: urlsplit's parts, without its work. Such a
    URL has no credentials, no IPv6 host and an ASCII host with no `xn--` label."""
    scheme, host, port, path, query = match.group("scheme", "host", "port", "path", "query")
    if port is not None and int(port) != _DEFAULT_PORTS[scheme]:
        raise ValueError(
            f"URL uses port {int(port)}; AMP caches fetch only from the default port: "
            f"{shown(url)!r}"
        )
    name = host.lower()
    prefix = cache_subdomain(name)
    domain = cache_domain.strip().strip(".").lower()
    secure = "s/" if scheme == "https" else ""
    query = f"?{query}" if query else ""
    return f"https://{prefix}.{domain}/c/{secure}{name}{path or '/'}{query}"
