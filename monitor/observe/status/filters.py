"""Pure: the query parameters of /targets and /api/v1/targets → a `TargetQuery`, or
`BadParameter` naming the parameter (answered as 400 {"error", "parameter"}).

Every value is checked against the contract's closed vocabularies before it
reaches SQL; free text (`provider`, `q`) is bounded in length and bound as
a parameter. An empty value counts as absent (an HTML form sends `kind=`
for "any"); a parameter given twice or one not known is refused, so a typo
(`stat=down`) is an error rather than a silently unfiltered list.

The cursor is opaque to clients: the last id of the page, bound to the
filters it was made for and checked with a digest. It carries nothing
secret (any position may be read), so the digest guards against mistakes,
not attackers: a cursor that was edited, cut short or made for other
filters is refused, never silently taken as another page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.daemon.state import State
from monitor.storage.listing import TargetQuery
from monitor.vocabulary import Kind, Outcome, ProblemCode

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_PROVIDER = 255
MAX_Q = 2048
MAX_CURSOR = 64
MAX_ID = 2**63 - 1
# the most characters one character of a parameter takes on the request line:
# percent-encoded UTF-8, 4 bytes of 3 characters each (`%F0%9F%98%80`)
ENCODED_CHAR = 12
# the request line the endpoints' parser takes (guard.ConnectionLimits): the free text
# at its bounds, every character encoded at its longest, and room for the method, the
# path, every other parameter (names and values encoded too) and the HTTP version. At
# the default limit of 4 KiB, a `q` of 2,048 `€` (18 KiB on the line) had aiohttp's
# own plain-text 400 instead of the API's answer; beyond this, the line is refused
REQUEST_LINE = ENCODED_CHAR * (MAX_Q + MAX_PROVIDER) + 4096
FILTERS = ("state", "kind", "provider", "outcome", "problem", "q")
PARAMETERS = (*FILTERS, "limit", "cursor")
# /api/v1/targets' opt-in: `availability=24h` adds each item's `availability_24h`, a
# read of the page's results over 24 h that about doubles a 1,000-item page (bench/README)
AVAILABILITY = ("24h",)
_VERSION = 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# a provider is the corpus's domain text, which may hold tabs or newlines (the overview
# links to each); only NUL, which PostgreSQL text cannot hold, is refused
_NUL = re.compile(r"\x00")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")


class BadParameter(ValueError):
    """A query parameter the API refuses; `parameter` names it for the client."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.message, "parameter": self.parameter}


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    kind: str | None = None
    provider: str | None = None
    outcome: str | None = None
    problem: str | None = None
    q: str | None = None

    def digest(self) -> bytes:
        """8 bytes that tell these filters from others (binds a cursor to them)."""
        values = [getattr(self, name) for name in FILTERS]
        return hashlib.sha256(json.dumps(values).encode("utf-8")).digest()[:8]

    def params(self) -> dict[str, str]:
        """The filters as query parameters (absent ones left out), for links."""
        return {name: v for name in FILTERS if (v := getattr(self, name)) is not None}


def _closed(name: str, value: str, allowed: Iterable[str]) -> str:
    choices = list(allowed)
    if value not in choices:
        raise BadParameter(name, f"{name} must be one of {', '.join(choices)}")
    return value


def _text(name: str, value: str, longest: int, refused: re.Pattern[str] = _CONTROL) -> str:
    if len(value) > longest:
        raise BadParameter(name, f"{name} is longer than {longest} characters")
    if refused.search(value):
        what = "a NUL character" if refused is _NUL else "control characters"
        raise BadParameter(name, f"{name} holds {what}")
    return value


def parse_filters(pairs: Iterable[tuple[str, str]], *, allowed: Iterable[str]) -> dict[str, str]:
    """One value per known parameter (empty ones dropped); BadParameter otherwise."""
    known = set(allowed)
    out: dict[str, str] = {}
    # every name given, empty or not: `state=&state=down` is a parameter given twice
    # (an empty first value was dropped before the check, and the second taken)
    seen: set[str] = set()
    for name, value in pairs:
        if name == "" and value == "":
            continue  # a stray `&` (`?state=down&`)
        if name == "":
            raise BadParameter("", "a value without a parameter name")
        if name not in known:
            # named only if it could be a parameter's name: anything else (spaces,
            # markup, controls) is text a link's maker chose, not reflected back
            shown = name if _NAME.fullmatch(name) else "(not a parameter name)"
            raise BadParameter(shown, "unknown parameter")
        if name in seen:
            raise BadParameter(name, f"{name} is given more than once")
        seen.add(name)
        if value != "":
            out[name] = value
    return out


def filters_of(values: dict[str, str]) -> Filters:
    return Filters(
        state=_closed("state", v, (s.value for s in State))
        if (v := values.get("state")) is not None
        else None,
        kind=_closed("kind", v, (k.value for k in Kind))
        if (v := values.get("kind")) is not None
        else None,
        provider=_text("provider", v, MAX_PROVIDER, _NUL)
        if (v := values.get("provider")) is not None
        else None,
        outcome=_closed("outcome", v, (o.value for o in Outcome))
        if (v := values.get("outcome")) is not None
        else None,
        problem=_closed("problem", v, (p.value for p in ProblemCode))
        if (v := values.get("problem")) is not None
        else None,
        q=_text("q", v, MAX_Q) if (v := values.get("q")) is not None else None,
    )


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise BadParameter("limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def _check(body: bytes) -> bytes:
    return hashlib.sha256(b"article-monitor cursor\0" + body).digest()[:6]


def encode_cursor(after: int, filters: Filters) -> str:
    """An opaque, URL-safe token for "the page after id `after` with these filters"."""
    if not 1 <= after <= MAX_ID:
        raise ValueError(f"cursor position out of range: {after}")
    body = bytes([_VERSION]) + after.to_bytes(8, "big") + filters.digest()
    return base64.urlsafe_b64encode(body + _check(body)).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, filters: Filters) -> int:
    """The id to continue after; BadParameter("cursor") for anything not made by
    `encode_cursor` for the same filters."""
    bad = BadParameter("cursor", "cursor is not one this API gave for these filters")
    if len(token) > MAX_CURSOR or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    # one spelling per cursor: base64's unused low bits may not be changed unnoticed
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise bad
    if len(raw) != 23 or raw[0] != _VERSION or _check(raw[:17]) != raw[17:]:
        raise bad
    if raw[9:17] != filters.digest():
        raise BadParameter("cursor", "cursor was made for other filters: start again without it")
    after = int.from_bytes(raw[1:9], "big")
    if not 1 <= after <= MAX_ID:
        raise bad
    return after


def target_query(pairs: Iterable[tuple[str, str]]) -> TargetQuery:
    """The whole of /targets' query string → a TargetQuery."""
    return _query(parse_filters(pairs, allowed=PARAMETERS))


def list_query(pairs: Iterable[tuple[str, str]]) -> tuple[TargetQuery, bool]:
    """The whole of /api/v1/targets' query string → a TargetQuery, and whether it asks
    for each item's availability over 24 h (`availability=24h`)."""
    values = parse_filters(pairs, allowed=(*PARAMETERS, "availability"))
    wanted = values.pop("availability", None)
    if wanted is not None:
        _closed("availability", wanted, AVAILABILITY)
    return _query(values), wanted is not None


def _query(values: dict[str, str]) -> TargetQuery:
    filters = filters_of(values)
    limit = parse_limit(values.get("limit"))
    cursor = values.get("cursor")
    after = 0 if cursor is None else decode_cursor(cursor, filters)
    return TargetQuery(**{n: getattr(filters, n) for n in FILTERS}, after=after, limit=limit)


def filters_from(query: TargetQuery) -> Filters:
    return Filters(**{n: getattr(query, n) for n in FILTERS})


def target_id(text: str) -> int | None:
    """A target id from a path segment, None when it cannot be one (answered 404)."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def article_id(text: str) -> str | None:
    """An article id (16 lowercase hex digits) from a path segment, None otherwise."""
    return text if _ARTICLE_ID.fullmatch(text) else None
