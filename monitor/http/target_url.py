"""A target's URL as the engine requests it, and as a report shows it.

Every target is asked the one rule (`monitor.urls.requestable`) and parsed
once per check: the common, already-normal spelling (`_AS_IS`) becomes a
`PlainURL`, its parts read from the one match, and any other into yarl's URL.
"""

from __future__ import annotations

import re

from yarl import URL

from monitor import urls


def public_url(url: Target) -> str:
    """The URL without credentials, fit for a report (`monitor.urls.redact`)."""
    return urls.redact(str(url))


# A URL already in the form yarl would give it (lower-case ASCII host, a
# path, nothing yarl escapes or normalises: no "%", no dot segment, no
# fragment) becomes a `PlainURL` from its groups, without yarl (yarl's build
# from the groups was 16.6 thousand instructions a target, its parse 26.6).
# tests/unit/test_http_urls.py holds it to yarl's reading of the same text.
# No part can give a character back to the next (a label's class holds no ".",
# ":" or "/"; a path's no "?"), so each is taken whole without the backtracking
# marks (~1.7 thousand instructions a target): a class's repeat possessive, a
# group's repeat in an atomic group, since Python 3.11.0-3.11.4 (Debian 12's
# 3.11.2) match a group repeated possessively wrongly (`http://a.:80/` taken,
# its host `a.`; tests/unit/test_regex_possessive_groups.py).
_AS_IS = re.compile(
    r"(https?)://([a-z0-9-]++(?>(?:\.[a-z0-9-]++)*)(?>(?::[1-9][0-9]{0,4}+)?))"
    r"(/[!$&-;=@-Z_a-z~]*+)"
    r"(?>(?:\?([!$&-;=?-Z_a-z~]*+))?)"
)


class PlainURL:
    """A target in `_AS_IS`'s spelling, its parts as yarl's URL gives them.

    What a check reads of its target (scheme, host, port, the Host header, the
    request line's path and query, the text) without yarl: parsing into yarl
    and its first reads of those cached properties cost ~30 thousand
    instructions a check (bench/README.md, "the plain target URL"). yarl's URL
    is built only where its semantics are needed (`join`, a redirect's
    Location against this base), from the same parts as before.
    tests/unit/test_http_urls.py holds each part to yarl's `URL(text)`.
    """

    __slots__ = (
        "_default_port",
        "_parts",
        "_url",
        "explicit_port",
        "host_header",
        "host_subcomponent",
        "port",
        "raw_host",
        "raw_path",
        "raw_path_qs",
        "scheme",
        "text",
    )

    def __init__(
        self, text: str, scheme: str, authority: str, path: str, query: str | None
    ) -> None:
        """From `_AS_IS`'s groups of `text` (a port, if any, in 1..65535)."""
        host, colon, written = authority.partition(":")
        default = 443 if scheme == "https" else 80
        port = int(written) if colon else default
        self._parts = (scheme, authority, path, query or "")
        self._url: URL | None = None
        self.scheme = scheme
        self.raw_host: str = host
        self.host_subcomponent: str = host  # no IPv6 literal in `_AS_IS`
        self.explicit_port: int | None = port if colon else None
        self.port: int = port
        self.raw_path = path
        # yarl drops an empty query's "?" and a default port written out
        self.raw_path_qs = f"{path}?{query}" if query else path
        self._default_port = port == default
        if self._default_port:
            self.host_header = host
            if colon or query == "":
                text = f"{scheme}://{host}{self.raw_path_qs}"
        else:
            self.host_header = authority
            if query == "":
                text = f"{scheme}://{authority}{path}"
        self.text = text

    def is_default_port(self) -> bool:
        return self._default_port

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"PlainURL({self.text!r})"

    @property
    def url(self) -> URL:
        """yarl's URL of the target, built once, as the fast path built it before."""
        if self._url is None:
            scheme, authority, path, query = self._parts
            self._url = URL.build(
                scheme=scheme, authority=authority, path=path, query_string=query, encoded=True
            )
        return self._url

    def join(self, url: URL) -> URL:
        """`url` resolved against this one (yarl's `URL.join`)."""
        return self.url.join(url)


# what the engine, the client and the probe request: either spelling
Target = PlainURL | URL


def parse_target(url: str, *, vetted: bool = False) -> Target | None:
    """The URL when it can be requested (`monitor.urls.requestable`), else None:
    a `PlainURL` when `url` is in `_AS_IS`'s spelling, else yarl's URL.

    `vetted`: the caller has already found `url` requestable (oneshot's reader
    asks the rule of every target it sends), so the rule is not asked again:
    by the time a target is checked its answer has left the rule's small cache.
    """
    if not vetted and not urls.requestable(url):
        return None
    as_is = _AS_IS.fullmatch(url)
    if as_is is not None and "/." not in url:  # http(s) with a host, by the pattern
        scheme, authority, path, query = as_is.groups()
        # a port's digits by the pattern: at most 99999; yarl refuses past 65535
        if len(authority) > 6 and authority[-6] == ":" and int(authority[-5:]) > 65535:
            return None
        return PlainURL(url, scheme, authority, path, query)
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
