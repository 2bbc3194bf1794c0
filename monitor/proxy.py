"""The `proxy` and `no_proxy` settings: the value types, their parsers and the
bypass match; pure. The client's side (the CONNECT tunnel, absolute-form
requests) is monitor/http/proxy_tunnel.py and monitor/http/client.py.

`proxy` is `http://[USER:PASSWORD@]HOST:PORT`: an HTTP proxy reached in clear
(an HTTPS proxy, TLS to the proxy itself, is not supported). Its password is
a secret: kept as a SecretStr, shown as `***` by every dump but a checker
process's settings frame (`revealed_json`, monitor/request_headers.py), and
never in a message; a parse error never repeats the value given.

`no_proxy` holds host patterns as `request_headers`' `hosts` do (a host, an
IP address, or `*.example.com` for its subdomains): a target whose URL host
matches one is fetched directly, as without a proxy.

HTTP(S)_PROXY are never read: a monitor's egress is set explicitly
(`ARTICLE_MONITOR_PROXY="$HTTPS_PROXY"` reuses it), so a variable meant for
another program does not quietly reroute (or break) every check.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from pydantic import GetCoreSchemaHandler, SecretStr
from pydantic_core import core_schema

from monitor import urls
from monitor.request_headers import HIDDEN, HeaderRuleError, matches, parse_pattern, revealing

SHAPE: Final = "http://[USER:PASSWORD@]HOST:PORT"


class ProxyUrl:
    """A parsed `proxy` setting. `str()` and every dump show `***` for the password."""

    __slots__ = ("host", "keyed", "password", "port", "username")

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: SecretStr | None,
        keyed: bool = False,
    ):
        self.host = host  # as in a URL: an IPv6 address in brackets
        self.port = port
        self.username = username
        self.password = password
        # `http://APIKEY:@host:port`: a colon and no password, as proxy services that
        # take an API key for the user document it: the user name is the secret
        self.keyed = keyed

    @classmethod
    def parse(cls, text: str) -> ProxyUrl:
        """The proxy of `text`; ValueError says what is wrong without repeating the
        value (it may hold a password)."""
        text = text.strip()
        scheme, sep, _ = text.partition("://")
        if not sep:
            raise ValueError(f"expected a URL like {SHAPE} (no scheme given)")
        if scheme.lower() != "http":
            raise ValueError(
                f"expected a URL like {SHAPE}: the scheme {scheme.lower()!r} is not supported "
                "(only a proxy reached over plain http; https targets are still tunnelled, "
                "end to end, through it)"
                if scheme.isascii() and scheme.isalnum() and len(scheme) <= 16
                else f"expected a URL like {SHAPE}: only the scheme http is supported"
            )
        authority = text[len(scheme) + 3 :]
        at = authority.rfind("@")
        if at >= 0 and any(c in authority[:at] for c in "/?#"):
            # urlsplit ends the authority at the first of them: a password holding
            # one was read as a port, a path or a fragment, and said as such
            raise ValueError(
                f"expected a URL like {SHAPE}: a '/', '?' or '#' comes before the '@'; "
                "if the user name or password (not shown) holds one, percent-encode it "
                "(%2F, %3F, %23)"
            )
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise ValueError(
                f"expected a URL like {SHAPE}: the port is not a number from 1 to 65535"
            ) from None
        if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
            raise ValueError(f"expected a URL like {SHAPE}: no path, query or fragment")
        host = parts.hostname
        if not host:
            raise ValueError(f"expected a URL like {SHAPE}: no host given")
        if port is None or port == 0:
            raise ValueError(f"expected a URL like {SHAPE}: give the port (e.g. :3128)")
        shown_host = f"[{host}]" if ":" in host else host
        if urls.problem(f"http://{shown_host}:{port}/") is not None:
            raise ValueError(f"expected a URL like {SHAPE}: the host is not a valid host name")
        username = password = None
        keyed = False
        if parts.username is not None or "@" in parts.netloc:
            keyed = parts.password == ""
            username = unquote(parts.username or "")
            password = SecretStr(unquote(parts.password or ""))
            if ":" in username:  # Basic joins them with the first colon (RFC 7617)
                raise ValueError(
                    f"expected a URL like {SHAPE}: the user name (not shown) holds a colon "
                    "(%3A), which Basic authentication cannot carry: the proxy would read "
                    "its rest as the password"
                )
            said = username + password.get_secret_value()
            if any(c in said for c in "\r\n\x00") or not said.isascii():
                raise ValueError(
                    f"expected a URL like {SHAPE}: the user name or password (not shown) "
                    "holds a control or non-ASCII character"
                )
        return cls(shown_host, port, username, password, keyed)

    @property
    def address(self) -> str:
        """`HOST:PORT`: the proxy in a message (never its credentials)."""
        return f"{self.host}:{self.port}"

    @property
    def dial_host(self) -> str:
        """The host to resolve or connect to (an IPv6 address without brackets)."""
        return self.host.strip("[]")

    def authorization(self) -> str | None:
        """The `Proxy-Authorization` value (Basic), or None without credentials."""
        if self.username is None or self.password is None:
            return None
        pair = f"{self.username}:{self.password.get_secret_value()}"
        return "Basic " + base64.b64encode(pair.encode("latin-1")).decode("ascii")

    def url(self, *, reveal: bool = False) -> str:
        """The setting as a URL; the password as `***` unless `reveal` (none shown
        when there is none: `http://user@host:3128` claimed no `***` it lacks). A
        user name given with an empty password (`http://APIKEY:@host:port`, as
        proxy services taking an API key document it) is the credential itself:
        `***` in its place."""
        if self.username is None or self.password is None:
            return f"http://{self.address}"
        user = quote(self.username, safe="")
        if not self.password.get_secret_value():
            if not self.keyed:
                return f"http://{user}@{self.address}"
            return f"http://{user if reveal else HIDDEN}:@{self.address}"
        secret = quote(self.password.get_secret_value(), safe="") if reveal else HIDDEN
        return f"http://{user}:{secret}@{self.address}"

    def __str__(self) -> str:
        return self.url()

    def __repr__(self) -> str:
        return f"ProxyUrl({self.url()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxyUrl):
            return NotImplemented
        return self.url(reveal=True) == other.url(reveal=True)

    def __hash__(self) -> int:
        return hash(self.address)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.url(reveal=revealing()), when_used="always"
            ),
        )


def _validate(value: Any) -> ProxyUrl:
    if isinstance(value, ProxyUrl):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a URL like {SHAPE}, found {type(value).__name__}")
    return ProxyUrl.parse(value)


def no_proxy_patterns(values: Iterable[str]) -> tuple[tuple[bool, str], ...]:
    """The `no_proxy` entries as host patterns; ValueError names the bad one."""
    found = []
    for value in values:
        try:
            found.append(parse_pattern(value))
        except HeaderRuleError as exc:
            said = str(exc).replace("a rule names hosts", "no_proxy names hosts")
            raise ValueError(said) from None
    return tuple(found)


class Bypass:
    """Whether a target host goes direct (`no_proxy`), remembered per host spelling."""

    __slots__ = ("_cache", "_patterns")

    def __init__(self, patterns: tuple[tuple[bool, str], ...]) -> None:
        self._patterns = patterns
        self._cache: dict[str, bool] = {}

    def __call__(self, host: str) -> bool:
        try:
            return self._cache[host]
        except KeyError:
            pass
        direct = any(matches(p, host) for p in self._patterns)
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[host] = direct
        return direct
