"""Who may read the endpoints: credentials read from files, kept only as SHA-256
digests and compared in constant time (see endpoints.py for the exposure rules);
and the one rule for "does a credential sent there stay on this machine"
(`is_loopback`), which `grafana push` asks too.

Basic auth is checked against a plain `user:password` file rather than an
htpasswd bcrypt hash: no new dependency, the same trust model as the token
file (and Prometheus's own `basic_auth.password_file`), and no bcrypt work
per scrape that an unauthenticated client could make the daemon do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from monitor.config import ConfigError
from monitor.small_files import read_small_file


def read_token(path: Path | None) -> str | None:
    """The bearer token, from a file (never from the config file itself)."""
    if path is None:
        return None
    token = read_small_file(path, "metrics_token_file")[1].strip()
    if not token:
        raise ConfigError(f"metrics_token_file {path} is empty")
    return token


def read_basic_auth(path: Path | None) -> tuple[str, str] | None:
    """`user:password` from the first non-blank line of a file (the password may hold `:`)."""
    if path is None:
        return None
    text = read_small_file(path, "metrics_basic_auth_file")[1]
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    user, sep, password = line.partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            f"metrics_basic_auth_file {path}: expected one line `user:password` (both non-empty)"
        )
    return user, password


# what an HTTP header value cannot hold (RFC 9110 field-value: a tab, yes)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# aiohttp's C parser bounds a header's value by `max_field_size`, its pure-Python
# one (AIOHTTP_NO_EXTENSIONS, or no compiled extension) the whole line: the line is
# what fits under both
_HEADER_NAME = "Authorization: "


def unsendable(token: str | None, basic: tuple[str, str] | None, max_field: int) -> str | None:
    """Why no client could send these credentials, or None: the Authorization header
    would be longer than the listener's parser reads (`max_field_size`), so every
    request bearing it would be refused before it is read. A token file of 9 KB was
    taken at the start and the daemon then answered every scrape 400: an error now,
    at the start, that names the limit and never the secret."""
    max_value = max_field - len(_HEADER_NAME)
    if token is not None:
        if _CONTROL.search(token):
            # a file of two lines, or a stray NUL: taken whole, and no client can
            # send a line break or a control character (a tab aside) in a header
            return (
                "metrics_token_file: the token holds a line break or another control "
                "character, which no Authorization header can carry: the file holds the "
                "token alone, on one line"
            )
        size = len(token.encode("utf-8", "surrogateescape"))
        if len("Bearer ") + size > max_value:
            return (
                f"metrics_token_file: the token is {size:,} bytes, and the listener reads an "
                f"Authorization header line of at most {max_field:,} (a token of at most "
                f"{max_value - len('Bearer '):,} bytes): use a shorter token"
            )
    if basic is not None:
        pair = f"{basic[0]}:{basic[1]}".encode("utf-8", "surrogateescape")
        size = len("Basic ") + len(base64.b64encode(pair))
        if size > max_value:
            return (
                f"metrics_basic_auth_file: `user:password` is {len(pair):,} bytes, "
                f"{size + len(_HEADER_NAME):,} in an Authorization header line, and the "
                f"listener reads one of at most {max_field:,}: use a shorter password"
            )
    return None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class EndpointAuth:
    """Who may read /metrics and /readyz's detail: digests only, never the secrets.

    Equal-length digests make `hmac.compare_digest` constant-time whatever the
    length of what the client sent.
    """

    bearer: bytes | None = None
    basic: bytes | None = None

    @classmethod
    def of(cls, token: str | None = None, basic: tuple[str, str] | None = None) -> EndpointAuth:
        return cls(
            bearer=None if token is None else _digest(token),
            basic=None if basic is None else _digest(f"{basic[0]}:{basic[1]}"),
        )

    @property
    def enabled(self) -> bool:
        return self.bearer is not None or self.basic is not None

    def __repr__(self) -> str:
        return f"EndpointAuth(bearer={self.bearer is not None}, basic={self.basic is not None})"

    def challenge(self) -> str:
        return 'Basic realm="article-monitor"' if self.basic is not None else "Bearer"

    def allows(self, header: str) -> bool:
        """Whether an Authorization header value grants access; never raises.

        aiohttp decodes header bytes as UTF-8 with surrogateescape, so encoding
        back the same way gives the client's bytes exactly, whatever they are.
        """
        if not self.enabled:
            return True
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        raw = value.strip().encode("utf-8", "surrogateescape")
        if scheme == "bearer" and self.bearer is not None:
            return hmac.compare_digest(hashlib.sha256(raw).digest(), self.bearer)
        if scheme == "basic" and self.basic is not None:
            try:
                pair = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(hashlib.sha256(pair).digest(), self.basic)
        return False


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`; any other name or address counts as beyond."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
