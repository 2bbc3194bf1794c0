"""The plain shape of a URL, and the bounds every URL rule shares.

Most URLs of a corpus have one unremarkable shape, recognised by one regex:
every rule of `monitor.urls` accepts such a URL, so its general parse is
skipped (a URL was parsed 3 to 7 times per load, a quarter of its CPU).
The lengths, ports and the short-URL cache live here because every rule
(requestable, normalise, compare) applies them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache, wraps
from typing import TypeVar

from monitor.url_hosts import MAX_HOST, NUMERIC_LABEL

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535
# The URLs of one document are looked at by several checks in a row, and
# never again once the next documents are read: a small cache answers all
# but the first look, and stays a few tens of kilobytes.
RECENT_URLS = 256
# Longer than any server accepts (most refuse 8 KiB): never requested, never
# compared, and never kept in a cache, so a hostile record cannot pin memory.
MAX_URL = 65536
CACHED_URL = 2048
TOO_LONG = f"is longer than {MAX_URL} characters"

T = TypeVar("T")


def cache_short(maxsize: int) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """`lru_cache` for ordinary URLs only: a long one is computed each time."""

    def wrap(func: Callable[[str], T]) -> Callable[[str], T]:
        cached = lru_cache(maxsize=maxsize)(func)

        @wraps(func)
        def call(url: str) -> T:
            return cached(url) if len(url) <= CACHED_URL else func(url)

        return call

    return wrap


# --- the plain shape: most URLs of a corpus, recognised by one regex -------

# Lower-case http(s) scheme, a host of ASCII name labels, an optional port,
# then printable ASCII with nothing that must be percent-encoded, split as
# urlsplit splits it: path, ?query, #fragment. Every rule below accepts such
# a URL (when its labels and port are in range), so the general parse is
# skipped for it: a URL was parsed 3 to 7 times per load, a quarter of its
# CPU. tests/unit/test_plain_urls.py holds the general rules to this.
PLAIN_HTTP_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[!$-;=@-\[\]_a-z~]*)?"
    r"(?:\?(?P<query>[!$-;=?-\[\]_a-z~]*))?"
    r"(?:#[!#-;=?-\[\]_a-z~]*)?"
)
_LONG_LABEL = re.compile(r"[^.]{64}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


@cache
def _ipv4() -> re.Pattern[str]:
    """A dotted IPv4 address. Compiled at the first host ending in a numeric
    label, not at import (issue 16)."""
    return re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


# `plain_match` without its length bound, for callers that bound the length
# themselves (normalize): one call less on a path every URL takes.
@lru_cache(maxsize=RECENT_URLS)
def plain_any_length(url: str) -> re.Match[str] | None:
    match = PLAIN_HTTP_URL.fullmatch(url)
    if match is None:
        return None
    host, port = match.group("host", "port")
    if "xn--" in host.lower() or len(host) > MAX_HOST or _LONG_LABEL.search(host):
        return None  # punycode or too long: only the general rules decide
    if NUMERIC_LABEL.fullmatch(host.rpartition(".")[2].lower()) and not _ipv4().fullmatch(host):
        return None  # numeric: an IPv4 address, or the general rules decide
    return match if port is None or 0 < int(port) <= MAX_PORT else None


def plain_match(url: str) -> re.Match[str] | None:
    """The plain shape's match of `url` (groups scheme, host, port, path, query),
    or None: the one parse a document's rules share (cached for the recent URLs)."""
    return plain_any_length(url) if len(url) <= MAX_URL else None


def plain(url: str) -> bool:
    """Whether `url` has the usual, unremarkable shape (see `PLAIN_HTTP_URL`).

    True guarantees a requestable http(s) URL; False only means the general
    (slower) rules must decide.
    """
    return len(url) <= MAX_URL and plain_any_length(url) is not None
