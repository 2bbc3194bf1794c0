"""Pure: the static checks of one article, and duplicates across the corpus.

These need no network: what a record says about itself (fields present, URLs
well formed, the AMP-cache URL derivable from the AMP URL, the provider
domain matching the article's host, dates not in the future) and whether its
identity collides with another record. Every Problem names the dotted field
to fix and says what the right value would be when we can tell.

Expected fields (CONTRACT section 3, `missing_field`), documented in
docs/amp-cache.md:

- article: `title`, `publishedDateTime`, `provider.domain`;
- related item: `webUrl`, `title`;
- any item with `ampWebUrl`: `cdnAmpWebUrl`; with `cdnAmpWebUrl`: `ampWebUrl`;
- every image (article, related, provider logos): `width` and `height`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from monitor import urls
from monitor.corpus.article import Document, Image, RelatedArticle
from monitor.rules.ampcache import DEFAULT_CACHE_DOMAIN, amp_cache_url
from monitor.rules.suffixes import is_public_suffix, registrable_domain
from monitor.urls import ascii_host, same, shown
from monitor.vocabulary import Problem, ProblemCode

__all__ = [
    "DEFAULT_SKEW",
    "DuplicateDetector",
    "document_problems",
    "domain_matches",
    "findings_change_at",
    "url_error",
]

DEFAULT_SKEW = timedelta(minutes=5)

# the one rule for "can this URL be requested" (monitor/urls.py)
url_error = urls.problem


@lru_cache(maxsize=urls.RECENT_URLS)
def _hostname(url: str) -> str:
    return urls.host_of(url)


def _host_name(host: str) -> str:
    """Lower-case ASCII form without a trailing root dot, for domain comparison."""
    return ascii_host(host.strip().rstrip(".")) if host.strip() else ""


def domain_matches(domain: str, url: str) -> bool:
    """Whether `domain` equals the host of `url` or is a parent domain of it.

    `theverge.com` matches `www.theverge.com` and `theverge.com`, not
    `notheverge.com`; case-insensitive; Unicode and punycode spellings of an
    IDN are the same name. A public suffix (`co.uk`, `github.io`) matches
    no host under it: as their parent it names no publisher. Equal to the host
    it still matches it (the contract's first case: `github.io` serves GitHub's
    own page).
    """
    host = _hostname(url)
    try:
        want, have = _host_name(domain), _host_name(host)
    except ValueError:
        return False
    if not want:
        return False
    if have == want:
        return True
    return have.endswith("." + want) and not _address(have) and not is_public_suffix(want)


def _address(host: str) -> bool:
    """An IP address has no parent domain (`0.1` is none of `127.0.0.1`)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _public_suffix(domain: str) -> bool:
    try:
        return is_public_suffix(_host_name(domain))
    except ValueError:  # not a host name: domain_matches says it matches nothing
        return False


def _registrable(host: str) -> str | None:
    try:
        name = _host_name(host)
    except ValueError:
        return None
    return None if _address(name) else registrable_domain(name)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _items(doc: Document) -> Iterator[tuple[str, RelatedArticle, bool]]:
    """(field prefix, item, is the article itself) for the article and each related item."""
    yield "", doc.article, True
    for i, rel in enumerate(doc.article.related):
        yield f"related.{i}.", rel, False


def _missing(
    prefix: str, item: RelatedArticle, top: bool, images: list[tuple[str, Image]]
) -> Iterator[Problem]:
    def problem(name: str, why: str) -> Problem:
        path = name if name.startswith(prefix) and prefix else prefix + name
        return Problem(ProblemCode.MISSING_FIELD, f"{path} is missing: {why}", path)

    if not top and not _present(item.webUrl):
        yield problem("webUrl", "a related item needs the URL of the article it points to")
    if not _present(item.title):
        yield problem("title", "add the article's headline")
    if top and item.publishedDateTime is None:
        yield problem("publishedDateTime", "add the RFC 3339 publication time")
    if top and (item.provider is None or not _present(item.provider.domain)):
        yield problem("provider.domain", "add the publisher's domain (e.g. theverge.com)")
    if _present(item.ampWebUrl) and not _present(item.cdnAmpWebUrl):
        expected = _derive(item.ampWebUrl)
        hint = f"; it should be {shown(expected)}" if expected else ""
        yield problem("cdnAmpWebUrl", f"ampWebUrl is set, so its AMP cache URL is expected{hint}")
    if _present(item.cdnAmpWebUrl) and not _present(item.ampWebUrl):
        yield problem("ampWebUrl", "cdnAmpWebUrl is set, so the AMP page it caches is expected")
    for path, image in images:
        for dim in ("width", "height"):
            if getattr(image, dim) is None:
                yield problem(
                    f"{path}.{dim}",
                    f"declare the image's {dim} in pixels so it can be checked",
                )


def _all_images(prefix: str, item: RelatedArticle) -> list[tuple[str, Image]]:
    """(dotted path, image) of the item's own images and its provider's."""
    images = [(f"{prefix}images.{i}", image) for i, image in enumerate(item.images)]
    if item.provider is not None and item.provider.images:
        images.extend(
            (f"{prefix}provider.images.{i}", image) for i, image in enumerate(item.provider.images)
        )
    return images


def _derive(amp: str | None, cache_domain: str = DEFAULT_CACHE_DOMAIN) -> str | None:
    if amp is None or url_error(amp) is not None:
        return None
    try:
        return amp_cache_url(amp, cache_domain=cache_domain)
    except ValueError:
        return None


def _invalid_urls(
    prefix: str, item: RelatedArticle, images: list[tuple[str, Image]]
) -> Iterator[Problem]:
    fields: list[tuple[str, str | None]] = [
        (f"{prefix}webUrl", item.webUrl),
        (f"{prefix}ampWebUrl", item.ampWebUrl),
        (f"{prefix}cdnAmpWebUrl", item.cdnAmpWebUrl),
    ]
    fields.extend((f"{path}.url", image.url) for path, image in images)
    for path, value in fields:
        if value is None:
            continue  # absence is a missing_field question, not a malformed URL
        why = url_error(value)
        if why is not None:
            yield Problem(ProblemCode.INVALID_URL, f"{path} {shown(value)!r} {why}", path)


def _cdn_mismatch(prefix: str, item: RelatedArticle, cache_domain: str) -> Iterator[Problem]:
    amp, cdn = item.ampWebUrl, item.cdnAmpWebUrl
    if not (_present(amp) and _present(cdn)) or url_error(amp) or url_error(cdn):
        return
    assert amp is not None and cdn is not None
    field = f"{prefix}cdnAmpWebUrl"
    try:
        expected = amp_cache_url(amp, cache_domain=cache_domain)
    except ValueError as exc:
        yield Problem(
            ProblemCode.CDN_URL_MISMATCH,
            f"{field} is set, but {prefix}ampWebUrl has no AMP cache URL: {exc}",
            field,
        )
        return
    if not same(expected, cdn):
        yield Problem(
            ProblemCode.CDN_URL_MISMATCH,
            f"{field} is not the AMP cache URL of {prefix}ampWebUrl: "
            f"expected {shown(expected)}, found {shown(cdn)}",
            field,
        )


def _provider_mismatch(prefix: str, item: RelatedArticle) -> Iterator[Problem]:
    provider, web = item.provider, item.webUrl
    if provider is None or not _present(provider.domain) or not _present(web):
        return
    assert provider.domain is not None and web is not None
    if url_error(web) is not None:
        return
    field = f"{prefix}provider.domain"
    host = _hostname(web)
    domain = provider.domain.strip()
    if "/" in domain or ":" in domain:
        why = "should be a bare domain name (no scheme, port or path)"
    elif "." not in domain.strip("."):
        why = "is a top-level domain, which cannot identify a publisher"
    elif domain_matches(domain, web):
        return
    elif _public_suffix(domain):
        own = _registrable(host)
        why = (
            "is a public suffix (anyone can register a name under it), which cannot "
            "identify a publisher: give the publisher's own domain"
            + (f", such as {own}" if own else "")
        )
    else:
        why = f"is neither the host of {prefix}webUrl ({host}) nor a parent domain of it"
    yield Problem(ProblemCode.PROVIDER_DOMAIN_MISMATCH, f"{field} {domain!r} {why}", field)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _future(prefix: str, item: RelatedArticle, now: datetime, skew: timedelta) -> Iterator[Problem]:
    limit = _as_utc(now) + skew
    for name in ("publishedDateTime", "updatedDateTime"):
        value: datetime | None = getattr(item, name)
        if value is None or _as_utc(value) <= limit:
            continue
        ahead = _as_utc(value) - _as_utc(now)
        yield Problem(
            ProblemCode.PUBLISHED_IN_FUTURE,
            f"{prefix}{name} {value.isoformat()} is {_duration(ahead)} in the future "
            f"(allowed clock skew {_duration(skew)}); fix the time or its UTC offset",
            prefix + name,
        )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds} s"


def document_problems(
    doc: Document,
    *,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    cache_domain: str = DEFAULT_CACHE_DOMAIN,
) -> list[Problem]:
    """Every article-level static problem of `doc` (duplicates excepted), in document order."""
    problems: list[Problem] = []
    for prefix, item, top in _items(doc):
        images = _all_images(prefix, item)
        problems.extend(_missing(prefix, item, top, images))
        problems.extend(_invalid_urls(prefix, item, images))
        problems.extend(_cdn_mismatch(prefix, item, cache_domain))
        problems.extend(_provider_mismatch(prefix, item))
        problems.extend(_future(prefix, item, now, skew))
    return problems


def findings_change_at(
    doc: Document, *, now: datetime, skew: timedelta = DEFAULT_SKEW
) -> datetime | None:
    """The first instant after `now` at which `document_problems` gives `doc`
    other findings with nothing changed but the clock, or None if none will.

    `published_in_future` is the only finding that depends on the clock: a date
    beyond `now` + `skew` stops being one at that date less the skew. The daemon
    keeps this instant with the stored findings and audits the file again once it
    has passed, though the file did not change (daemon/scan.py)."""
    limit = _as_utc(now) + skew
    first: datetime | None = None
    for _, item, _ in _items(doc):
        for name in ("publishedDateTime", "updatedDateTime"):
            value: datetime | None = getattr(item, name)
            if value is None or _as_utc(value) <= limit:
                continue
            if first is None or _as_utc(value) < first:
                first = _as_utc(value)
    return None if first is None else first - skew


_Entry = tuple[str, int, bytes]  # (source, line, digest of the normalised webUrl)


class DocIdentity(NamedTuple):
    """What duplicate detection needs of a document, so callers can drop the
    document itself (its raw record and model) long before the corpus ends.

    The digests are taken once here: `add` and `problems_for` both need them."""

    source: str
    line: int
    web_url: str
    amp_url: str | None
    web_key: bytes
    amp_key: bytes | None

    @classmethod
    def of(cls, doc: Document) -> DocIdentity:
        web, amp = doc.article.webUrl, doc.article.ampWebUrl
        amp_key = _digest("a", amp) if amp is not None and amp.strip() else None
        return cls(doc.source, doc.line, web, amp, _digest("w", web), amp_key)


_SHOWN = 5


def _digest(kind: str, url: str) -> bytes:
    """16-byte key for a normalised URL: a third of the string's size, no practical collisions."""
    return hashlib.blake2b(f"{kind} {urls.normalize(url)}".encode(), digest_size=16).digest()


class DuplicateDetector:
    """Finds articles that share an identity across the corpus.

    `duplicate_url` when two documents have the same normalised `webUrl`, or
    when two documents with *different* webUrls claim the same `ampWebUrl`
    (an AMP page has one canonical article, so one of them is wrong). The
    cdnAmpWebUrl is derived from the ampWebUrl, so it adds nothing.
    Memory (measured in tests/unit/test_integrity.py): a 16-byte digest per
    key and one (source, line, digest) tuple per document, kept bare until a
    second document shares the key; source strings are interned.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, _Entry | list[_Entry]] = {}

    @staticmethod
    def _keys(doc: DocIdentity) -> tuple[bytes, list[tuple[str, bytes]]]:
        web = doc.web_key
        keys = [("webUrl", web)]
        if doc.amp_key is not None:
            keys.append(("ampWebUrl", doc.amp_key))
        return web, keys

    def _entries(self, key: bytes) -> list[_Entry]:
        found = self._seen.get(key)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def add(self, item: Document | DocIdentity) -> None:
        doc = item if isinstance(item, DocIdentity) else DocIdentity.of(item)
        web, keys = self._keys(doc)
        entry: _Entry = (sys.intern(doc.source), doc.line, web)
        for _, key in keys:
            found = self._seen.get(key)
            if found is None:
                self._seen[key] = entry
            elif isinstance(found, list):
                if entry not in found:
                    found.append(entry)
            elif found != entry:
                self._seen[key] = [found, entry]

    def problems_for(self, item: Document | DocIdentity) -> list[Problem]:
        doc = item if isinstance(item, DocIdentity) else DocIdentity.of(item)
        web, keys = self._keys(doc)
        me: _Entry = (doc.source, doc.line, web)
        problems: list[Problem] = []
        for field, key in keys:
            others = [e for e in self._entries(key) if e != me]
            if field == "ampWebUrl":  # the same article twice is already a webUrl duplicate
                others = [e for e in others if e[2] != web]
            if not others:
                continue
            where = ", ".join(f"{src}:{line}" for src, line, _ in others[:_SHOWN])
            if len(others) > _SHOWN:
                where += f" and {len(others) - _SHOWN} more"
            if field == "webUrl":
                message = (
                    f"webUrl {shown(doc.web_url)} is also the webUrl of {where}; "
                    "keep one record per article"
                )
            else:
                message = (
                    f"ampWebUrl {shown(doc.amp_url or '')} is also the ampWebUrl of a different "
                    f"article at {where}; an AMP page belongs to one article"
                )
            problems.append(Problem(ProblemCode.DUPLICATE_URL, message, field))
        return problems
