"""The one set of URL rules: requestable, normalise, compare, redact.

Every module that asks one of these questions calls this one; two rule sets
for one question produced findings that contradicted each other (a trailing
slash was a `canonical_mismatch` but not a `cdn_url_mismatch`).

- `problem(url)` / `requestable(url)`: an absolute http(s) URL the client
  can request exactly as written: no whitespace or control characters, none
  of the characters that must be percent-encoded, a host that is a valid
  name (Unicode or punycode, no empty or over-long label, no `%`, a numeric
  last label only as a dotted-quad IPv4) or a bracketed IPv6 address without
  a zone, a port (if any) in 1-65535. What fails is `invalid_url`, both as a
  document problem and as a target's outcome, and never reaches the network.
- `normalize(url)`: identity, for article ids and duplicates. Scheme and host
  lower case, default port, fragment and credentials dropped, empty path
  `/`. Never changed without a migration: the article id is its SHA-256.
- `comparison_form(url)` / `same(a, b)`: equivalence, for the canonical,
  amphtml and AMP-cache checks. On top of `normalize` it ignores the IDN
  spelling of the host (`bücher.example` = `xn--bcher-kva.example`), the case
  of percent-escapes and escaped unreserved characters (RFC 3986 6.2.2:
  `%7e` = `~`, `%2f` = `%2F`), a character against its escape where the
  client escapes it (`/é` = `/%C3%A9`), dot segments (`/a/../b` = `/b`, `%2e%2e`
  included: the client resolves them) and one trailing `/` at the end of the path
  (`/amp/` = `/amp`, with or without a query), because none of these changes
  the page a server returns (docs/amp-cache.md explains each). Path case,
  query order, `%2F` against `/`, `http` against `https`, a non-default port
  and `www.` still count. URLs equal under `normalize` are equal here.
- `host_key(host)`: per-host identity, for per-host politeness and cluster
  placement: `example.com.`, `EXAMPLE.com`, `bücher.example` and its punycode,
  `[0:0::1]` and `::1` are one host each, whatever spelling a record uses.
- `redact(url)`: the URL as it may be shown in a log, a report or an error:
  user-info replaced by `***@` (wherever any parser would find it), the values
  of secret-looking query and fragment parameters replaced by `***`;
  `shown(url)`: that, cut to a length a message can hold.

The rules live beside this module, by what each owns: `url_plain` (the plain
shape one regex recognises, and the bounds every rule shares), `url_hosts`
(host spellings, `host_key`, which hosts exist), `url_compare` (the
comparison form) and `url_redact` (redaction). This module keeps the
requestable rule and the identity form, which share the parse, and
re-exports every public name: callers import `monitor.urls` alone.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from urllib.parse import urlsplit, urlunsplit

from monitor.url_compare import comparison_form, same
from monitor.url_hosts import (
    MAX_HOST,
    MAX_LABEL,
    ascii_host,
    authority_problem,
    decode_label,
    host_key,
)
from monitor.url_plain import (
    CACHED_URL,
    DEFAULT_PORTS,
    MAX_PORT,
    MAX_URL,
    PLAIN_HTTP_URL,
    RECENT_URLS,
    TOO_LONG,
    cache_short,
    plain,
    plain_any_length,
    plain_match,
)
from monitor.url_redact import SECRET_PARAMS, SHOWN_URL, redact, shown

__all__ = [
    "DEFAULT_PORTS",
    "MAX_HOST",
    "MAX_LABEL",
    "MAX_PORT",
    "MAX_URL",
    "PLAIN_HTTP_URL",
    "RECENT_URLS",
    "SECRET_PARAMS",
    "SHOWN_URL",
    "ascii_host",
    "comparison_form",
    "decode_label",
    "host_key",
    "host_of",
    "normalize",
    "plain",
    "plain_match",
    "problem",
    "redact",
    "requestable",
    "same",
    "shown",
    "url_host_key",
]


# --- requestable -------------------------------------------------------------

# one regex pass each instead of a per-character Python loop: the rule runs
# on every URL of every record, and the loop dominated a 100,000-record load.
# Only URLs off `plain`'s path reach them: compiled at the first such URL, not
# at import (issue 16: 3.4 M instructions together, every process).


@cache
def _space_or_control() -> re.Pattern[str]:
    return re.compile(r"[\s\x00-\x1f\x7f]")


@cache
def _must_escape() -> re.Pattern[str]:
    return re.compile(r'[<>"{}|\\^`]')


@cache
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def problem(url: object) -> str | None:
    """Why `url` is not an absolute http(s) URL that can be requested, or None."""
    if not isinstance(url, str):
        return f"expected a URL string, found {type(url).__name__}"
    return None if plain(url) else _general_problem(url)


def _general_problem(url: str) -> str | None:
    if len(url) > CACHED_URL:  # never kept in the cache
        return TOO_LONG if len(url) > MAX_URL else _problem.__wrapped__(url)
    return _problem(url)


# Each URL of a document is checked by several rules in a row (well formed,
# AMP cache derivable, provider host, requestable): parse it once.
@lru_cache(maxsize=RECENT_URLS)
def _problem(url: str) -> str | None:
    if not url.strip():
        return "is empty"
    if _space_or_control().search(url):
        return "contains whitespace or control characters (percent-encode them, e.g. %20)"
    if _surrogate().search(url):  # the client would drop it and request another URL
        return "contains a lone surrogate, which is not text (fix the record's encoding)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"cannot be parsed ({exc})"
    scheme = parts.scheme.lower()
    if not scheme:
        return "is relative; use an absolute https:// URL"
    if scheme not in DEFAULT_PORTS:
        return f"uses the {scheme}: scheme; only http and https can be checked"
    host = parts.hostname
    if not host:
        return "has no host"
    if _must_escape().search(url):
        return "contains characters that must be percent-encoded"
    return authority_problem(parts.netloc, host, port)


def requestable(url: str) -> bool:
    """Whether the client may request `url` (see `problem`)."""
    return plain(url) or _general_problem(url) is None


def host_of(url: str) -> str:
    """The host of `url` in lower case, without brackets; "" when it has none."""
    match = plain_match(url)
    if match is not None:  # no user-info, brackets or spaces: urlsplit's hostname
        return match["host"].lower()
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


# --- normalise (identity) ------------------------------------------------------


# The same URL is normalised several times in a row while one document is
# loaded (its id, its duplicate keys): the cache parses it once, and makes
# the id one shared string rather than a copy per holder.
@cache_short(RECENT_URLS)
def normalize(url: str) -> str:
    """The identity form: scheme and host lower-cased, default port, fragment and
    credentials dropped, empty path `/`. An unparseable URL is itself, stripped.

    Used for article ids and duplicate detection, never for fetching (we fetch
    exactly what the document says).
    """
    match = plain_any_length(url) if len(url) <= MAX_URL else None
    if match is not None:
        return _normalize_plain(match)
    return _normalize_parsed(url)


def _normalize_plain(match: re.Match[str]) -> str:
    scheme, host, port = match["scheme"], match["host"].lower(), match["port"]
    if port is not None:
        number = int(port)
        if number != DEFAULT_PORTS[scheme]:
            host = f"{host}:{number}"
    path, query = match["path"] or "/", match["query"]
    return f"{scheme}://{host}{path}?{query}" if query else f"{scheme}://{host}{path}"


def _normalize_parsed(url: str) -> str:
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return text
    if not host or _space_or_control().search(text):
        return text  # no URL to normalise (and never an article's webUrl)
    scheme = parts.scheme.lower()
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]" if port is None else host
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, parts.query, ""))


def url_host_key(url: str) -> str | None:
    """The key of `url`'s host as the host gates know it (`host_key`), or None
    for a URL without one (its check says what is wrong with it)."""
    try:
        host = urlsplit(url).hostname
        return host_key(host) if host else None
    except ValueError:
        return None
