"""Comparing URLs: the spelling two equivalent URLs share (`comparison_form`, `same`).

What counts as the same page is described in `monitor.urls`'s docstring and
docs/amp-cache.md; the canonical, amphtml and AMP-cache checks all ask here.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, quote, urlsplit

from monitor.url_hosts import ascii_host, authority_shape_problem
from monitor.url_plain import DEFAULT_PORTS, MAX_URL, cache_short
from monitor.url_redact import shown

_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_KEPT = "!#$%&'()*+,/:;=?@~"  # never escaped for the comparison (unreserved never are)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalize_percent(text: str) -> str:
    """RFC 3986 6.2.2: upper-case escapes, decode the ones for unreserved characters,
    and write what the client escapes (non-ASCII as UTF-8, `<>"{}|\\^\\``, space)
    escaped: `/é` is `/%C3%A9` on the wire."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    text = _STRAY_PERCENT.sub("%25", text)  # a `%` that starts no escape is one
    return quote(_PERCENT.sub(fix, text), safe=_KEPT, errors="surrogatepass")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: `/a/./b/../c` is `/a/c`, as the client resolves it before sending."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")  # `/a/b/..` is `/a/`
    return "/" + "/".join(out)


def split_http(url: str) -> tuple[SplitResult, str, str]:
    """(parts, scheme, host) of an absolute http(s) URL; ValueError saying what is
    wrong, the URL's credentials hidden (url_redact.shown)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  validates the port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {shown(url)!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {shown(url)!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL has no host: {shown(url)!r}")
    return parts, scheme, host


@cache_short(2048)
def comparison_form(url: str) -> str:
    """The spelling two equivalent URLs share (see the module docstring).

    ValueError for a URL that is not an absolute http(s) URL with a host.
    """
    if len(url) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    parts, scheme, host = split_http(url)
    port = parts.port
    shape = authority_shape_problem(parts.netloc)
    if shape is not None:  # urlsplit misreads it: only equal to itself (see `same`)
        raise ValueError(f"URL {shape}: {shown(url)!r}")
    if ":" in host:
        name = f"[{ipaddress.ip_address(host.split('%')[0]).compressed}]"
    else:
        name = ascii_host(host)
    netloc = name if port in (None, DEFAULT_PORTS[scheme]) else f"{name}:{port}"
    path = _remove_dot_segments(_normalize_percent(parts.path))
    if not path.endswith("/"):  # `/a` = `/a/` (`/a//` stays apart); adding keeps the form stable
        path += "/"
    query = f"?{_normalize_percent(parts.query)}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def same(a: str, b: str) -> bool:
    """Whether two http(s) URLs name the same resource under `comparison_form`.

    A URL that cannot be compared is equal only to the identical string.
    """
    if a == b:
        return True
    try:
        return comparison_form(a) == comparison_form(b)
    except ValueError:
        return False
