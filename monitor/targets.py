"""Pure: Article → check targets, deduplicated across the corpus.

A URL referenced by several articles (a shared provider logo, a related
article that is also a top-level article) becomes one Target that knows every
reference, so it is fetched once per run and reported under each article.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from monitor.article import Document, Image, Provider, RelatedArticle
from monitor.model import Expectation, Kind, Origin


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One article's reference to a URL, with what that article claims about it."""

    article_id: str
    kind: Kind
    origin: Origin
    expectation: Expectation = field(default_factory=Expectation)
    path: str = ""  # dotted path in the article, e.g. "related.0.images.1.url"


@dataclass(slots=True)
class Target:
    url: str
    kind: Kind  # the kind of the first reference: decides how it is fetched
    refs: list[TargetRef] = field(default_factory=list)


def _path(dotted: str) -> str:
    """Field paths repeat in every record ("images.0.url"): share one string."""
    return sys.intern(dotted)


def _image_refs(
    images: Iterable[Image], aid: str, origin: Origin, prefix: str
) -> Iterator[tuple[str, TargetRef]]:
    for i, img in enumerate(images):
        if img.url:
            yield (
                img.url,
                TargetRef(
                    aid,
                    Kind.IMAGE,
                    origin,
                    Expectation(width=img.width, height=img.height),
                    _path(f"{prefix}{i}.url"),
                ),
            )


def _page_refs(
    rec: RelatedArticle, aid: str, origin: Origin, prefix: str
) -> Iterator[tuple[str, TargetRef]]:
    web, amp, cdn = rec.webUrl, rec.ampWebUrl, rec.cdnAmpWebUrl
    if web:
        yield (
            web,
            TargetRef(aid, Kind.WEB, origin, Expectation(amphtml=amp), _path(f"{prefix}webUrl")),
        )
    if amp:
        yield (
            amp,
            TargetRef(
                aid, Kind.AMP, origin, Expectation(canonical=web), _path(f"{prefix}ampWebUrl")
            ),
        )
    if cdn:
        yield (
            cdn,
            TargetRef(
                aid, Kind.CDN, origin, Expectation(canonical=web), _path(f"{prefix}cdnAmpWebUrl")
            ),
        )
    yield from _image_refs(rec.images, aid, origin, f"{prefix}images.")


def _provider_refs(
    provider: Provider | None, aid: str, prefix: str
) -> Iterator[tuple[str, TargetRef]]:
    if provider is not None:
        yield from _image_refs(provider.images, aid, Origin.PROVIDER, f"{prefix}provider.images.")


def document_refs(
    doc: Document, *, related: bool = True, kinds: Collection[Kind] = tuple(Kind)
) -> list[tuple[str, TargetRef]]:
    """Every (url, reference) of one document, in document order, filtered by kind."""
    aid = doc.id
    art = doc.article
    refs = list(_page_refs(art, aid, Origin.ARTICLE, ""))
    refs.extend(_provider_refs(art.provider, aid, ""))
    if related:
        for i, rel in enumerate(art.related):
            prefix = f"related.{i}."
            refs.extend(_page_refs(rel, aid, Origin.RELATED, prefix))
            refs.extend(_provider_refs(rel.provider, aid, prefix))
    return [(url, ref) for url, ref in refs if ref.kind in kinds]


class TargetIndex:
    """Accumulates targets across the corpus; one Target per distinct URL string."""

    def __init__(self) -> None:
        self._targets: dict[str, Target] = {}
        self._current = ""  # the article whose references are arriving now
        self._earlier: set[str] = set()  # articles whose references came before

    def add(self, url: str, ref: TargetRef) -> Target:
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = Target(url, ref.kind)
        if ref.article_id != self._current:
            self._earlier.add(self._current)
            self._current = ref.article_id
        # A document's references arrive together, so a repeat is in the tail
        # of the list, unless the same article comes back later (a duplicate
        # record): only then is the whole list scanned. Scanning it always
        # made a URL shared by every article (a provider logo) quadratic.
        if ref.article_id in self._earlier:
            if ref in target.refs:
                return target
        else:
            for existing in reversed(target.refs):
                if existing.article_id != ref.article_id:
                    break
                if existing == ref:
                    return target
        target.refs.append(ref)
        return target

    def add_document(
        self, doc: Document, *, related: bool = True, kinds: Collection[Kind] = tuple(Kind)
    ) -> list[tuple[str, TargetRef]]:
        refs = document_refs(doc, related=related, kinds=kinds)
        for url, ref in refs:
            self.add(url, ref)
        return refs

    def __len__(self) -> int:
        return len(self._targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self._targets.values())

    def get(self, url: str) -> Target | None:
        return self._targets.get(url)
