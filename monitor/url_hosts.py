"""Host names and the authority: one spelling per host, and which hosts exist.

`ascii_host` is the punycode spelling the AMP Cache URL format uses,
`host_key` the one name kept per host (politeness, cluster placement),
`authority_problem` why an authority names no server. `monitor.urls`
re-exports the public names; the rules there call these.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache

from yarl import URL

MAX_LABEL = 63
MAX_HOST = 253
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


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
    if NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return "has an invalid host (numeric, but not a dotted-quad IPv4 address)"
    return None


def authority_problem(netloc: str, host: str, port: int | None) -> str | None:
    """Why the authority (user-info, host, port) names no server, or None."""
    if port == 0:
        return "has port 0, which cannot be connected to"
    shape = authority_shape_problem(netloc)
    if shape is not None:
        return shape
    return _host_problem(host, netloc.rpartition("@")[2].startswith("["))


def authority_shape_problem(netloc: str) -> str | None:
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
