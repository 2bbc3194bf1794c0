"""A target's URL as the engine requests it, and as a report shows it.

Every target is asked the one rule (`monitor.urls.requestable`) and parsed
into yarl's URL once per check: the common, already-normal spelling skips
yarl's encoding pass.
"""

from __future__ import annotations

import re

from yarl import URL

from monitor import urls


def public_url(url: URL) -> str:
    """The URL without credentials, fit for a report (`monitor.urls.redact`)."""
    return urls.redact(str(url))


# A URL already in the form yarl would give it (lower-case ASCII host, a
# path, nothing yarl escapes or normalises: no "%", no dot segment, no
# fragment) is built without yarl's encoding pass, which was most of the cost
# of parsing a target. tests/unit/test_http_urls.py holds it to the general path.
# Its groups are the URL's parts, built into one without yarl's own split of
# the string (26.6 -> 16.6 thousand instructions a target, callgrind).
# Its quantifiers are possessive: no part can give a character back to the
# next (a label's class holds no ".", ":" or "/"; a path's no "?"), so each is
# taken whole without the backtracking marks (~1.7 thousand instructions a target).
_AS_IS = re.compile(
    r"(https?)://([a-z0-9-]++(?:\.[a-z0-9-]++)*+(?::[1-9][0-9]{0,4}+)?+)"
    r"(/[!$&-;=@-Z_a-z~]*+)"
    r"(?:\?([!$&-;=?-Z_a-z~]*+))?+"
)


def parse_target(url: str, *, vetted: bool = False) -> URL | None:
    """The URL when it can be requested (`monitor.urls.requestable`), else None.

    `vetted`: the caller has already found `url` requestable (oneshot's reader
    asks the rule of every target it sends), so the rule is not asked again:
    by the time a target is checked its answer has left the rule's small cache.
    """
    if not vetted and not urls.requestable(url):
        return None
    as_is = _AS_IS.fullmatch(url)
    if as_is is not None and "/." not in url:  # http(s) with a host, by the pattern
        scheme, authority, path, query = as_is.groups()
        try:
            parsed = URL.build(
                scheme=scheme,
                authority=authority,
                path=path,
                query_string=query or "",
                encoded=True,
            )
            _ = parsed.port
        except ValueError:
            return None
        return parsed
    return _parse_general(url)


def _parse_general(url: str) -> URL | None:
    try:
        parsed = URL(url)
        _ = parsed.port
    except (ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return None
    return parsed
