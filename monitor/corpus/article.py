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

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticKnownError

from monitor import urls


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# A declared size is a pixel count: never negative, and within a 32-bit
# INTEGER, the daemon's column for it in SQLite and PostgreSQL alike (a
# width of 10**30 passed `check` and then stopped the daemon's corpus writes).
MAX_PIXELS = 2**31 - 1


class Image(_Record):
    url: str
    width: int | None = Field(default=None, ge=0, le=MAX_PIXELS)
    height: int | None = Field(default=None, ge=0, le=MAX_PIXELS)
    title: str | None = None

    @field_validator("width", "height", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        """`true` (YAML's `yes` too) is no pixel count: pydantic's lax int read it
        as 1, and the record got a confusing image-size finding where a wrong
        type makes it invalid (CONTRACT section 1), with its field and line."""
        if value is True or value is False:
            raise PydanticKnownError("int_type")
        return value


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


def _not_a_number(value: object) -> object:
    """A number (or a string of digits) is refused, never read as Unix time.

    The contract asks for RFC 3339; pydantic's lax mode took `1587064080`,
    `1587064080.5` and `"1587064080"` as seconds since 1970 (and a small one as
    milliseconds), so a typo or another schema's epoch field passed as a date.
    Refused as a bad string date is: the record is invalid, with its field and line.
    """
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC(value.strip())):
        raise PydanticKnownError("datetime_type")
    return value


_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?").fullmatch


class RelatedArticle(_Record):
    webUrl: str | None = None
    ampWebUrl: str | None = None
    cdnAmpWebUrl: str | None = None
    title: str | None = None
    images: list[Image] = Field(default_factory=list)
    provider: Provider | None = None
    publishedDateTime: datetime | None = None
    updatedDateTime: datetime | None = None

    @field_validator("publishedDateTime", "updatedDateTime", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        return _not_a_number(value)

    @field_validator("publishedDateTime", "updatedDateTime")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)


class Article(RelatedArticle):
    webUrl: str
    secured: str | None = None
    related: list[RelatedArticle] = Field(default_factory=list)


# the identity rule lives with the other URL rules (monitor/urls.py)
normalize_url = urls.normalize


@lru_cache(maxsize=urls.RECENT_URLS)
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
