"""A `provider.domain` equal to the host of `webUrl` matches it, public suffix or not
(CONTRACT section 3: "equal to it or a parent domain of it"): only as a *parent*
does a public suffix name no publisher. `github.io` for `https://github.io/` (GitHub's
own page) was `provider_domain_mismatch`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.corpus.article import Article, Document
from monitor.rules.static import document_problems, domain_matches

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _problems(domain: str, web: str) -> list[str]:
    raw: dict[str, Any] = {
        "webUrl": web,
        "title": "t",
        "publishedDateTime": "2020-04-16T19:08:00Z",
        "provider": {"name": "P", "domain": domain},
    }
    doc = Document("a.txt", 1, raw, Article.model_validate(raw))
    return [p.message for p in document_problems(doc, now=NOW)]


@pytest.mark.parametrize(
    ("domain", "web"),
    [
        ("github.io", "https://github.io/about"),
        ("GitHub.io.", "https://github.io./about"),
        ("co.uk", "https://co.uk/"),
        ("公司.香港", "https://xn--55qx5d.xn--j6w193g/a"),
        ("foo.ck", "https://foo.ck/a"),  # under the wildcard rule *.ck
    ],
)
def test_a_public_suffix_equal_to_the_host_matches_it(domain: str, web: str) -> None:
    assert domain_matches(domain, web) is True
    assert _problems(domain, web) == []


@pytest.mark.parametrize(
    ("domain", "web"),
    [
        ("github.io", "https://alice.github.io/about"),
        ("foo.ck", "https://news.foo.ck/a"),
        ("co.uk", "https://www.co.uk/"),
    ],
)
def test_as_a_parent_it_still_matches_nothing(domain: str, web: str) -> None:
    assert domain_matches(domain, web) is False
    (message,) = _problems(domain, web)
    assert "is a public suffix" in message


@pytest.mark.parametrize(
    ("domain", "web", "matches"),
    [
        ("127.0.0.1", "https://127.0.0.1/a", True),
        ("0.1", "https://127.0.0.1/a", False),
        ("0.0.1", "https://127.0.0.1/a", False),
        ("1.1", "https://10.1.1.1/a", False),
    ],
)
def test_an_address_has_no_parent_domain(domain: str, web: str, matches: bool) -> None:
    """`0.1` "matched" `127.0.0.1` as its parent domain: an address is no name."""
    assert domain_matches(domain, web) is matches


@pytest.mark.parametrize("web", ["https://127.0.0.1/a", "https://10.0.0.1/a"])
def test_no_registrable_domain_is_offered_for_an_address(web: str) -> None:
    (message,) = _problems("co.uk", web)
    assert "is a public suffix" in message
    assert "such as" not in message  # it offered "such as 0.1"
