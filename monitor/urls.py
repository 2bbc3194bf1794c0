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

Over 400 lines on purpose: the four rules share the parse and the host
checks, and are meant to be read (and changed) together.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from yarl import URL

from monitor.text_clip import clip

__all__ = [
    "DEFAULT_PORTS",
    "RECENT_URLS",
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
]

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535
MAX_LABEL = 63
MAX_HOST = 253
# The URLs of one document are looked at by several checks in a row, and
# never again once the next documents are read: a small cache answers all
# but the first look, and stays a few tens of kilobytes.
RECENT_URLS = 256
# Longer than any server accepts (most refuse 8 KiB): never requested, never
# compared, and never kept in a cache, so a hostile record cannot pin memory.
MAX_URL = 65536
_CACHED_URL = 2048
_TOO_LONG = f"is longer than {MAX_URL} characters"

T = TypeVar("T")


def _cache_short(maxsize: int) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """`lru_cache` for ordinary URLs only: a long one is computed each time."""

    def wrap(func: Callable[[str], T]) -> Callable[[str], T]:
        cached = lru_cache(maxsize=maxsize)(func)

        @wraps(func)
        def call(url: str) -> T:
            return cached(url) if len(url) <= _CACHED_URL else func(url)

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
_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


@lru_cache(maxsize=RECENT_URLS)
def _plain(url: str) -> re.Match[str] | None:
    match = PLAIN_HTTP_URL.fullmatch(url)
    if match is None:
        return None
    host, port = match.group("host", "port")
    if "xn--" in host.lower() or len(host) > MAX_HOST or _LONG_LABEL.search(host):
        return None  # punycode or too long: only the general rules decide
    if _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2].lower()) and not _IPV4.fullmatch(host):
        return None  # numeric: an IPv4 address, or the general rules decide
    return match if port is None or 0 < int(port) <= MAX_PORT else None


def plain_match(url: str) -> re.Match[str] | None:
    """The plain shape's match of `url` (groups scheme, host, port, path, query),
    or None: the one parse a document's rules share (cached for the recent URLs)."""
    return _plain(url) if len(url) <= MAX_URL else None


def plain(url: str) -> bool:
    """Whether `url` has the usual, unremarkable shape (see `PLAIN_HTTP_URL`).

    True guarantees a requestable http(s) URL; False only means the general
    (slower) rules must decide.
    """
    return len(url) <= MAX_URL and _plain(url) is not None


# --- hosts -------------------------------------------------------------------


def decode_label(label: str) -> str:
    """The Unicode form of one host label (an `xn--` label decoded); ValueError if invalid."""
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode").lower()
    except (UnicodeError, ValueError) as exc:
        raise ValueError(f"host label {label!r} is not valid punycode") from exc


def ascii_host(host: str) -> str:
    """The lower-case ASCII (punycode) spelling of a host name.

    Plain RFC 3492 punycode per label, as the AMP Cache URL format and its
    reference implementation use; no IDNA2008 table check, since emoji hosts
    such as `xn--57hw060o.com` (the format's own example) would be refused by
    one. Raises ValueError for a label that cannot be encoded or an `xn--`
    label that is not valid punycode.
    """
    if host.isascii():  # NFC leaves ASCII as it is; only an xn-- label needs a look
        lowered = host.lower()
        if "xn--" not in lowered:
            return lowered
    return _ascii_host_labels(host)


def _ascii_host_labels(host: str) -> str:
    out: list[str] = []
    for label in unicodedata.normalize("NFC", host).lower().split("."):
        if label.isascii():
            decode_label(label)  # validates an xn-- label
            out.append(label)
        else:
            out.append("xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(out)


def host_key(host: str) -> str:
    """The one name of a host for everything kept per host (politeness, placement).

    Lower case, trailing dots stripped, IDNA (punycode) for a Unicode name, an
    IPv6 literal in its compressed form without brackets (an IPv4-mapped one as
    the IPv4 address it reaches): two spellings of one
    host must share one limit, and one cluster member. Never raises: a host no
    rule accepts is its lower case. Cached (it is asked on every request), but
    only for names of a plausible length, so a hostile one cannot pin memory.
    """
    return _host_key(host) if len(host) <= _CACHED_HOST else _host_key.__wrapped__(host)


_CACHED_HOST = MAX_HOST + 2  # a longest name, with brackets or a trailing dot


@lru_cache(maxsize=4096)
def _host_key(host: str) -> str:
    name = host.rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        try:
            address = ipaddress.IPv6Address(name)
        except ValueError:
            return name.lower()
        # an IPv4-mapped address reaches the IPv4 host it maps: that host's key
        mapped = address.ipv4_mapped
        return address.compressed if mapped is None else str(mapped)
    try:
        return ascii_host(name)
    except ValueError:
        return name.lower()


_HOST_ASCII = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def _host_problem(host: str, bracketed: bool) -> str | None:
    """Why `host` (lower case, without brackets) names no host, or None."""
    if bracketed:
        if "%" in host:
            return "has an IPv6 zone in its host, which names an interface of one machine"
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "has an invalid host (not an IPv6 address)"
        return None
    name = host[:-1] if host.endswith(".") else host
    for ch in name:
        if ch in _HOST_ASCII or (not ch.isascii() and unicodedata.category(ch)[0] in "LMN"):
            continue
        if not ch.isascii() and unicodedata.category(ch) == "So":  # emoji hosts exist
            continue
        return f"has an invalid host (character {ch!r})"
    labels = name.split(".")
    if any(not label for label in labels):
        return "has an empty label in its host"
    try:
        encoded = ascii_host(name)
    except ValueError as exc:
        return f"has an invalid host ({exc})"
    if not name.isascii():  # the client (yarl, IDNA/UTS #46) must send this very name
        try:
            sent = URL.build(scheme="http", host=name).raw_host or ""
        except (ValueError, UnicodeError):
            sent = ""
        if sent != encoded:
            what = f"the client would request {sent!r}" if sent else "not an international name"
            return f"has an invalid host ({what})"
    if len(encoded) > MAX_HOST or any(len(label) > MAX_LABEL for label in encoded.split(".")):
        return "has an invalid host (a label over 63 or a name over 253 characters)"
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return "has an invalid host (numeric, but not a dotted-quad IPv4 address)"
    return None


# --- requestable -------------------------------------------------------------

# one regex pass each instead of a per-character Python loop: the rule runs
# on every URL of every record, and the loop dominated a 100,000-record load
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_MUST_ESCAPE = re.compile(r'[<>"{}|\\^`]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def problem(url: object) -> str | None:
    """Why `url` is not an absolute http(s) URL that can be requested, or None."""
    if not isinstance(url, str):
        return f"expected a URL string, found {type(url).__name__}"
    return None if plain(url) else _general_problem(url)


def _general_problem(url: str) -> str | None:
    if len(url) > _CACHED_URL:  # never kept in the cache
        return _TOO_LONG if len(url) > MAX_URL else _problem.__wrapped__(url)
    return _problem(url)


# Each URL of a document is checked by several rules in a row (well formed,
# AMP cache derivable, provider host, requestable): parse it once.
@lru_cache(maxsize=RECENT_URLS)
def _problem(url: str) -> str | None:
    if not url.strip():
        return "is empty"
    if _SPACE_OR_CONTROL.search(url):
        return "contains whitespace or control characters (percent-encode them, e.g. %20)"
    if _SURROGATE.search(url):  # the client would drop it and request another URL
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
    if _MUST_ESCAPE.search(url):
        return "contains characters that must be percent-encoded"
    return _authority_problem(parts.netloc, host, port)


def _authority_problem(netloc: str, host: str, port: int | None) -> str | None:
    """Why the authority (user-info, host, port) names no server, or None."""
    if port == 0:
        return "has port 0, which cannot be connected to"
    shape = _authority_shape_problem(netloc)
    if shape is not None:
        return shape
    return _host_problem(host, netloc.rpartition("@")[2].startswith("["))


def _authority_shape_problem(netloc: str) -> str | None:
    """Why urlsplit's reading of the authority is not the one intended, or None."""
    if not netloc.isascii() and _separators_under_nfkc(netloc):
        return "has characters in its authority that read as / ? # @ : or % (NFKC)"
    userinfo, _, hostport = netloc.rpartition("@")
    if "[" in userinfo or "]" in userinfo:
        return "has [ or ] in its user-info (percent-encode them)"
    if hostport.startswith("[") and hostport.partition("]")[2][:1] not in ("", ":"):
        return "has an invalid host (text after the IPv6 address)"  # urlsplit ignores it
    return None


def _separators_under_nfkc(netloc: str) -> bool:
    """`\u2100` reads as `a/c` once normalised: refused, as the client refuses it."""
    text = netloc.replace("@", "").replace(":", "").replace("#", "").replace("?", "")
    folded = unicodedata.normalize("NFKC", text)
    return folded != text and any(c in folded for c in "/?#@:%")


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
@_cache_short(RECENT_URLS)
def normalize(url: str) -> str:
    """The identity form: scheme and host lower-cased, default port, fragment and
    credentials dropped, empty path `/`. An unparseable URL is itself, stripped.

    Used for article ids and duplicate detection, never for fetching (we fetch
    exactly what the document says).
    """
    match = _plain(url) if len(url) <= MAX_URL else None
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
    if not host or _SPACE_OR_CONTROL.search(text):
        return text  # no URL to normalise (and never an article's webUrl)
    scheme = parts.scheme.lower()
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]" if port is None else host
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, parts.query, ""))


# --- compare (equivalence) -----------------------------------------------------

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


@_cache_short(2048)
def comparison_form(url: str) -> str:
    """The spelling two equivalent URLs share (see the module docstring).

    ValueError for a URL that is not an absolute http(s) URL with a host.
    """
    if len(url) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {url!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    shape = _authority_shape_problem(parts.netloc)
    if shape is not None:  # urlsplit misreads it: only equal to itself (see `same`)
        raise ValueError(f"URL {shape}: {url!r}")
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


# --- redact --------------------------------------------------------------------

# parameter names (lower case, decoded) whose values are credentials
SECRET_PARAMS = frozenset(
    {
        "access_token", "api-key", "api_key", "apikey", "auth", "auth_token",
        "authorization", "client_secret", "id_token", "jwt", "key", "pass",
        "passwd", "password", "pwd", "refresh_token", "secret", "session",
        "sessionid", "sig", "signature", "sslpassword", "token",
        "x-amz-credential", "x-amz-security-token", "x-amz-signature",
        "x-goog-credential", "x-goog-signature",
    }
)  # fmt: skip
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_AUTHORITY_END = re.compile(r"[/?#]")
# SQLAlchemy reads a database URL's password up to the first `@`, `/` included
_DB_USERINFO = re.compile(r"[^:/?#@]*:[^@]*@")
_PARAM_SEP = re.compile(r"([&;])")
_LOOSE_USERINFO = re.compile(r"[^\s/?#@]*:[^\s@]*@")


def _redact_params(text: str) -> str:
    pieces = _PARAM_SEP.split(text)
    for i, piece in enumerate(pieces):
        name, sep, _value = piece.partition("=")
        if sep and unquote_plus(name).strip().lower() in SECRET_PARAMS:
            pieces[i] = f"{name}=***"
    return "".join(pieces)


def redact(url: str) -> str:
    """`url` without its secrets, for logs, reports and error messages.

    The user-info is read as generously as any parser reads it: everything
    before the last `@` of the authority (an `http:` URL needs no `//`; `\\`
    does not end it), and for other schemes (database URLs) also a password
    up to the first `@` as SQLAlchemy reads it. It becomes `***@`. Values of
    parameters named like a credential (`password`, `token`, `sig`, ...) in
    the query or fragment become `***`. A URL with neither comes back as is;
    in a string that is no URL (or `admin:pw@host`, which reads as the scheme
    `admin:`), a leading `user:password@` is hidden too.
    """
    # Every secret above is a user-info (it ends at an `@`) or a parameter's value
    # (after an `=`): without either, nothing is hidden. That is most URLs, and a
    # check redacts its final URL: this saves the parse (held to _redact_general
    # by tests/unit/test_urls.py).
    if "@" not in url and "=" not in url:
        return url
    return _redact_general(url)


def _redact_general(url: str) -> str:
    match = _SCHEME.match(url)
    if match is None:  # not a URL: still no `user:password@` in what is shown
        return _LOOSE_USERINFO.sub("***@", url)
    head, rest = url[: match.end()], url[match.end() :]
    special = head.lower() in ("http:", "https:")
    if special or rest.startswith("//"):
        slashes = len(rest) - len(rest.lstrip("/\\"))
        head, rest = head + rest[:slashes], rest[slashes:]
        hidden = False
        if not special and (db := _DB_USERINFO.match(rest)) is not None:
            rest, hidden = rest[db.end() :], True
        end = _AUTHORITY_END.search(rest)
        authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
        if "@" in authority:
            authority, hidden = authority.rpartition("@")[2], True
        rest = ("***@" if hidden else "") + authority + tail
    elif "@" in rest:  # `admin:pw@host` typed without a scheme reads as scheme `admin:`
        end = _AUTHORITY_END.search(url)
        loose = _LOOSE_USERINFO.match(url[: end.start()] if end else url)
        if loose is not None:
            head, rest = "***@", url[loose.end() :]
    before, hashmark, fragment = rest.partition("#")
    path, qmark, query = before.partition("?")
    if "=" in query:
        query = _redact_params(query)
    if "=" in fragment:
        fragment = _redact_params(fragment)
    return f"{head}{path}{qmark}{query}{hashmark}{fragment}"


SHOWN_URL = 200


def shown(url: str, longest: int = SHOWN_URL) -> str:
    """`url` as a finding quotes it: redacted, and cut (a 5 MB image URL made a 5 MB
    `invalid_url` message, in the report and in the daemon's database)."""
    return clip(redact(url), longest)
