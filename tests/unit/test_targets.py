"""Targets: every URL of an article, its related items and provider, deduplicated."""

from typing import Any

from monitor.corpus.article import Article, Document, article_id, normalize_url
from monitor.targets import document_refs
from monitor.vocabulary import Expectation, Kind, Origin


def doc(raw: dict[str, Any], source: str = "a.txt") -> Document:
    return Document(source=source, line=2, raw=raw, article=Article.model_validate(raw))


SEEDLIKE: dict[str, Any] = {
    "webUrl": "https://tc.example/a/",
    "ampWebUrl": "https://tc.example/a/amp/",
    "cdnAmpWebUrl": "https://tc-example.cdn.ampproject.org/c/s/tc.example/a/amp/",
    "images": [{"url": "https://tc.example/i.jpg", "width": 1024, "height": 568}],
    "provider": {
        "name": "TC",
        "domain": "tc.example",
        "images": [{"url": "https://logo.example/tc.jpg", "width": 50, "height": 50}],
    },
    "related": [
        {
            "webUrl": "https://verge.example/r",
            "ampWebUrl": None,
            "images": [{"url": "https://logo.example/tc.jpg", "width": 50, "height": 50}],
            "provider": {"domain": "verge.example"},
        }
    ],
}


def test_every_url_with_kind_origin_and_path() -> None:
    refs = document_refs(doc(SEEDLIKE))
    got = [(url, r.kind, r.origin, r.path) for url, r in refs]
    assert got == [
        ("https://tc.example/a/", Kind.WEB, Origin.ARTICLE, "webUrl"),
        ("https://tc.example/a/amp/", Kind.AMP, Origin.ARTICLE, "ampWebUrl"),
        (
            "https://tc-example.cdn.ampproject.org/c/s/tc.example/a/amp/",
            Kind.CDN,
            Origin.ARTICLE,
            "cdnAmpWebUrl",
        ),
        ("https://tc.example/i.jpg", Kind.IMAGE, Origin.ARTICLE, "images.0.url"),
        ("https://logo.example/tc.jpg", Kind.IMAGE, Origin.PROVIDER, "provider.images.0.url"),
        ("https://verge.example/r", Kind.WEB, Origin.RELATED, "related.0.webUrl"),
        ("https://logo.example/tc.jpg", Kind.IMAGE, Origin.RELATED, "related.0.images.0.url"),
    ]


def test_expectations_travel_with_references() -> None:
    refs = dict((r.path, r) for _, r in document_refs(doc(SEEDLIKE)))
    assert refs["webUrl"].expectation == Expectation(amphtml="https://tc.example/a/amp/")
    assert refs["ampWebUrl"].expectation == Expectation(canonical="https://tc.example/a/")
    assert refs["cdnAmpWebUrl"].expectation.canonical == "https://tc.example/a/"
    assert refs["images.0.url"].expectation == Expectation(width=1024, height=568)
    # a related item without an AMP URL expects no amphtml link
    assert refs["related.0.webUrl"].expectation == Expectation(amphtml=None)


def test_filters_related_and_kinds() -> None:
    d = doc(SEEDLIKE)
    assert all(r.origin is not Origin.RELATED for _, r in document_refs(d, related=False))
    assert {r.kind for _, r in document_refs(d, kinds={Kind.IMAGE})} == {Kind.IMAGE}


def test_article_id_is_stable_across_equivalent_forms() -> None:
    base = article_id("https://tc.example/a/")
    assert article_id("HTTPS://TC.example:443/a/") == base
    assert article_id("https://tc.example/a/#frag") == base
    assert article_id("https://tc.example/b/") != base
    assert len(base) == 16 and int(base, 16) >= 0


def test_normalize_url_keeps_non_default_port_and_query() -> None:
    assert normalize_url("http://X.example:8080?q=1") == "http://x.example:8080/?q=1"
    assert normalize_url("https://x.example:443/p") == "https://x.example/p"
