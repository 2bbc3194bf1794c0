"""Pure: Article → its check targets (`document_refs`: URL, kind, origin, field).

A URL referenced by several articles (a shared provider logo, a related
article that is also a top-level article) is fetched once per run and
reported under each: the run keeps one result per URL (`check.assembler.Assembler`)
and the daemon one target row per URL.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.corpus.article import Document, Image, Provider, RelatedArticle
from monitor.vocabulary import Expectation, Kind, Origin

_Kinds = Collection[Kind]


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One article's reference to a URL, with what that article claims about it."""

    article_id: str
    kind: Kind
    origin: Origin
    expectation: Expectation = field(default_factory=Expectation)
    path: str = ""  # dotted path in the article, e.g. "related.0.images.1.url"


def _path(dotted: str) -> str:
    """Field paths repeat in every record ("images.0.url"): share one string."""
    return sys.intern(dotted)


@lru_cache(maxsize=512)
def _image_expectation(width: int | None, height: int | None) -> Expectation:
    """Declared sizes repeat across a corpus (1200x675, ...): one immutable
    Expectation per size, shared by every reference that declares it."""
    return Expectation(width=width, height=height)


_Refs = list[tuple[str, TargetRef]]

# Members read for every reference, as module constants: on Python 3.11 a
# member read through its class (`Kind.WEB`) goes through EnumType's
# `__getattr__` hook, ~1,000 instructions each (issue 16).
_WEB, _AMP, _CDN, _IMAGE = Kind.WEB, Kind.AMP, Kind.CDN, Kind.IMAGE
_ARTICLE, _RELATED, _PROVIDER = Origin.ARTICLE, Origin.RELATED, Origin.PROVIDER


def _image_refs(
    out: _Refs, images: Iterable[Image], aid: str, origin: Origin, prefix: str, kinds: _Kinds
) -> None:
    if _IMAGE not in kinds:
        return
    for i, img in enumerate(images):
        if img.url:
            expect = _image_expectation(img.width, img.height)
            out.append((img.url, TargetRef(aid, _IMAGE, origin, expect, _path(f"{prefix}{i}.url"))))


def _text(value: object) -> str | None:
    """A record's text field, if it is one (an `excerpt: 12` is kept, never judged)."""
    return value if isinstance(value, str) and value.strip() else None


def _page_refs(
    out: _Refs, rec: RelatedArticle, aid: str, origin: Origin, prefix: str, kinds: _Kinds
) -> None:
    web, amp, cdn = rec.webUrl, rec.ampWebUrl, rec.cdnAmpWebUrl
    # what the page should still be (content_drift: web and amp pages only)
    title, excerpt = _text(rec.title), _text((rec.model_extra or {}).get("excerpt"))
    if web and _WEB in kinds:
        expect = Expectation(amphtml=amp, title=title, excerpt=excerpt)
        out.append((web, TargetRef(aid, _WEB, origin, expect, _path(f"{prefix}webUrl"))))
    if amp and _AMP in kinds:
        expect = Expectation(canonical=web, title=title, excerpt=excerpt)
        out.append((amp, TargetRef(aid, _AMP, origin, expect, _path(f"{prefix}ampWebUrl"))))
    if cdn and _CDN in kinds:
        expect = Expectation(canonical=web)
        out.append((cdn, TargetRef(aid, _CDN, origin, expect, _path(f"{prefix}cdnAmpWebUrl"))))
    _image_refs(out, rec.images, aid, origin, f"{prefix}images.", kinds)


def _provider_refs(
    out: _Refs, provider: Provider | None, aid: str, prefix: str, kinds: _Kinds
) -> None:
    if provider is not None and provider.images:
        _image_refs(out, provider.images, aid, _PROVIDER, f"{prefix}provider.images.", kinds)


def document_refs(
    doc: Document, *, related: bool = True, kinds: Collection[Kind] = tuple(Kind)
) -> list[tuple[str, TargetRef]]:
    """Every (url, reference) of one document, in document order, filtered by kind."""
    aid = doc.id
    art = doc.article
    refs: _Refs = []
    _page_refs(refs, art, aid, _ARTICLE, "", kinds)
    _provider_refs(refs, art.provider, aid, "", kinds)
    if related:
        for i, rel in enumerate(art.related):
            prefix = f"related.{i}."
            _page_refs(refs, rel, aid, _RELATED, prefix, kinds)
            _provider_refs(refs, rel.provider, aid, prefix, kinds)
    return refs
