"""The typed Article record (CONTRACT section 1) and the document wrapper.

Pydantic models with `extra="allow"`: unknown fields are kept, never
rejected. The raw mapping as parsed is kept beside the model because the
`secured` field signs the record as written, not as our model sees it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Image(_Record):
    url: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


class Provider(_Record):
    name: str | None = None
    domain: str | None = None
    # a factory, not `= []`: pydantic deep-copies a literal default for every
    # record that omits the field (5% of a corpus load)
    images: list[Image] = Field(default_factory=list)


def _as_utc(value: datetime | None) -> datetime | None:
    """Timestamps compare as instants; a naive one is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class RelatedArticle(_Record):
    webUrl: str | None = None
    ampWebUrl: str | None = None
    cdnAmpWebUrl: str | None = None
    title: str | None = None
    images: list[Image] = Field(default_factory=list)
    provider: Provider | None = None
    publishedDateTime: datetime | None = None
    updatedDateTime: datetime | None = None

    @field_validator("publishedDateTime", "updatedDateTime")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)


class Article(RelatedArticle):
    webUrl: str
    secured: str | None = None
    related: list[RelatedArticle] = Field(default_factory=list)


# The usual shape of a URL in a corpus: lower-case http(s) scheme, a host of
# ASCII name labels (none of them punycode), an optional port, then printable
# ASCII with nothing that must be percent-encoded. Every URL check (the webUrl
# check, `integrity.url_error`, whether a target can be requested) accepts
# such a URL, so they skip `urlsplit` for it: a URL was parsed 3 to 7 times
# per load, a quarter of its CPU. tests/unit/test_plain_urls.py holds the
# general paths to this.
_PLAIN_HTTP_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    # printable ASCII but for what must be percent-encoded (space "<>\^`{|}),
    # split as urlsplit splits it: path, ?query, #fragment
    r"(?P<path>/[!$-;=@-\[\]_a-z~]*)?"
    r"(?:\?(?P<query>[!$-;=?-\[\]_a-z~]*))?"
    r"(?:#[!#-;=?-\[\]_a-z~]*)?"
)
_MAX_PORT = 65535


# The URLs of one document are looked at by several checks in a row, and
# never again once the next documents are read: a small cache answers all
# but the first look, and stays a few tens of kilobytes.
RECENT_URLS = 256


@lru_cache(maxsize=RECENT_URLS)
def _plain(url: str) -> re.Match[str] | None:
    match = _PLAIN_HTTP_URL.fullmatch(url)
    if match is None:
        return None
    host, port = match.group("host", "port")
    if "xn--" in host.lower():  # punycode: only the general checks validate it
        return None
    return match if port is None or int(port) <= _MAX_PORT else None


def plain_http_url(url: str) -> bool:
    """Whether `url` has the usual, unremarkable shape (see `_PLAIN_HTTP_URL`).

    True guarantees a well-formed, requestable http(s) URL; False only means
    the general (slower) checks must decide.
    """
    return _plain(url) is not None


# The same URL is normalised several times in a row while one document is
# loaded (its id, its duplicate keys): the cache parses it once, and makes
# the id one shared string rather than a copy per holder.
@lru_cache(maxsize=RECENT_URLS)
def normalize_url(url: str) -> str:
    """A comparison form: scheme and host lower-cased, default port and fragment dropped.

    Used for identity and duplicate detection, never for fetching (we fetch
    exactly what the document says).
    """
    plain = _plain(url)
    if plain is not None:
        return _normalize_plain(plain)
    return _normalize_parsed(url)


def _normalize_plain(match: re.Match[str]) -> str:
    scheme, host, port = match["scheme"], match["host"].lower(), match["port"]
    if port is not None:
        number = int(port)
        if not ((scheme == "http" and number == 80) or (scheme == "https" and number == 443)):
            host = f"{host}:{number}"
    path, query = match["path"] or "/", match["query"]
    return f"{scheme}://{host}{path}?{query}" if query else f"{scheme}://{host}{path}"


def _normalize_parsed(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if port is not None and not (
        (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]" if port is None else host
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, parts.query, ""))


@lru_cache(maxsize=RECENT_URLS)
def article_id(web_url: str) -> str:
    """Stable id: 16 hex digits of SHA-256 over the normalised webUrl."""
    return hashlib.sha256(normalize_url(web_url).encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class Document:
    """One valid record and where it came from."""

    source: str
    line: int
    raw: dict[str, Any]
    article: Article

    @property
    def id(self) -> str:
        return article_id(self.article.webUrl)


@dataclass(frozen=True, slots=True)
class InvalidDocument:
    """A record that could not be used, with what to fix."""

    source: str
    line: int | None
    error: str

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "error": self.error}
