"""The status HTML pages on a real server and a real database with known contents:
escaping of every hostile field, security headers, links (public_url, the alerts'),
totals and error pages. The browser's view is tests/acceptance/test_status_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from support.status_db import Known
from support.status_http import DIALECTS, get, known_db, running, tags

import monitor.storage.listing as listing
from monitor.observe.endpoints import MetricsServer
from monitor.storage.repository import TARGETS


@pytest.fixture(
    params=[
        pytest.param(d, marks=[pytest.mark.postgres] if d == "postgres" else []) for d in DIALECTS
    ]
)
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    yield from known_db(request.param, tmp_path)


@pytest.fixture
async def server(known: Known) -> AsyncIterator[MetricsServer]:
    async with running(known) as srv:
        yield srv


PAGES = [
    "/",
    "/targets",
    "/targets?state=down",
    "/targets?state=down&kind=image&provider=" + "%22%27%3E%3Cscript%3E",
    "/targets/3",
    "/targets/5",
    "/targets/7",
    "/articles/0000000000000001",
    "/articles/0000000000000003",
]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_escape_everything_and_send_security_headers(
    server: MetricsServer, path: str
) -> None:
    status, html, headers = await get(server, path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    found = tags(html)
    names = {name for name, _ in found}
    assert not names & {"script", "img", "b", "iframe", "object"}, names
    for name, attrs in found:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        if name == "a" and "external" in (attrs.get("class") or ""):
            assert attrs["rel"] == "noopener noreferrer"
            assert re.match(r"https?://", attrs["href"] or "")


async def test_the_hostile_url_is_shown_as_text(server: MetricsServer) -> None:
    _, html, _ = await get(server, "/targets/3")
    assert (
        "https://news.test/&#34;&#39;&gt;&lt;script&gt;alert(3)&lt;/script&gt;?q=&lt;b&gt;" in html
    )


async def test_page_errors_name_the_parameter(server: MetricsServer) -> None:
    status, html, _ = await get(server, "/targets?state=%3Cscript%3E")
    assert status == 400 and "<code>state</code>" in html and "<script>" not in html
    status, html, _ = await get(server, "/targets/..%2F..%2Fetc%2Fpasswd")
    assert status == 404
    status, html, _ = await get(server, "/articles/nope")
    assert status == 404
    status, _, _ = await get(server, "/static/..%2F..%2Fconfig.py")
    assert status == 404


# a value of each label the alert rules template into their links (an alert fills its own)
EXAMPLE_LABELS = {"kind": "web", "provider": "A&B news", "code": "soft_404"}


def _render(template: str) -> str:
    """Prometheus's rendering of `{{ $labels.x }}` and `{{ $labels.x | urlquery }}`."""

    def one(m: re.Match[str]) -> str:
        value = EXAMPLE_LABELS[m.group(1)]
        return quote_plus(value) if m.group(2) else value

    return re.sub(r"\{\{ \$labels\.(\w+)( \| urlquery)? \}\}", one, template)


async def test_every_alert_links_to_a_page_that_answers(
    server: MetricsServer, known: Known
) -> None:
    """The alert annotations' status links (monitor/grafana) use these pages' filters."""
    from monitor.grafana.prometheus import Links
    from monitor.grafana.rules import alert_rules

    with known.engine.begin() as conn:  # a provider domain that needs encoding in a URL
        conn.execute(TARGETS.update().where(TARGETS.c.id == 3).values(provider="A&B news"))
    links = Links(status_base=server.url)
    linked = 0
    for rule in alert_rules():
        url = _render(links.annotations(rule)["status_url"])
        path = url.removeprefix(server.url) or "/"
        status, html, _ = await get(server, path)
        assert status == 200, (rule.name, path, html[:300])
        if "provider=" in path:
            assert [
                a["href"]
                for n, a in tags(html)
                if n == "a" and (a.get("href") or "").startswith("/targets/")
            ] == ["/targets/3"]
        linked += "?" in path
    assert linked >= 3


async def test_links_follow_public_urls_path(known: Known) -> None:
    """Behind a proxy that serves the pages under /am/, every link keeps the prefix."""
    async with running(known, public_url="https://ops.example/am") as srv:
        for path in ("/", "/targets?state=down", "/targets/3", "/articles/0000000000000001"):
            _, html, _ = await get(srv, path)
            local = [
                attrs.get("href") or ""
                for name, attrs in tags(html)
                if name in ("a", "link", "form") and "external" not in (attrs.get("class") or "")
            ] + [attrs.get("action") or "" for name, attrs in tags(html) if name == "form"]
            local = [h for h in local if h and not h.startswith("#")]
            assert local and all(h.startswith("/am/") for h in local), (path, local)


async def test_controls_and_bidi_overrides_are_spelled_out_on_pages(
    server: MetricsServer, known: Known
) -> None:
    from sqlalchemy import text

    with known.engine.begin() as conn:
        conn.execute(text("UPDATE targets SET provider = :p WHERE id = 3"), {"p": "a\u202eb\x1bc"})
    _, html, _ = await get(server, "/targets/3")
    assert "\u202e" not in html and "\x1b" not in html
    assert "a\\u202eb\\x1bc" in html


async def test_the_list_page_says_how_many_match_in_all(
    server: MetricsServer, known: Known
) -> None:
    down = len(known.ids(active=True, state="down"))
    _, html, _ = await get(server, "/targets?state=down&limit=10")
    assert f"10 targets on this page of {down:,}" in html
    _, html, _ = await get(server, "/targets?state=down&kind=web")
    web = len(known.ids(active=True, state="down", kind="web"))
    assert f"{web} targets on this page of {web}" in html
    _, html, _ = await get(server, "/targets?q=news")  # a substring cannot be counted
    assert "targets on this page</h2>" in html


async def test_a_large_count_is_capped_not_counted(
    server: MetricsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 5)
    _, html, _ = await get(server, "/targets?provider=Alpha+News&limit=3")
    assert "3 targets on this page of 5+" in html


async def test_unicode_spaces_in_a_headline_stay_spaces_on_pages(
    server: MetricsServer, known: Known
) -> None:
    """A French headline's no-break and thin spaces are typography, not controls: the
    page shows them as they are (spelled `\\xa0`, the title was unreadable), while a
    bidi override beside them is still spelled out."""
    from sqlalchemy import text

    title = "Le pr\u00e9sident\u00a0: \u00abun\u202fmot\u00bb\u3000\u202eend"
    with known.engine.begin() as conn:
        conn.execute(
            text("UPDATE articles SET title = :t WHERE id = :a"),
            {"t": title, "a": "0000000000000001"},
        )
    _, html, _ = await get(server, "/articles/0000000000000001")
    assert "Le pr\u00e9sident\u00a0: \u00abun\u202fmot\u00bb\u3000\\u202eend" in html
    assert "\\xa0" not in html and "\u202e" not in html


async def test_every_provider_link_of_the_overview_lists_that_provider(
    server: MetricsServer, known: Known
) -> None:
    """A provider is the corpus's domain text: one holding a tab or newline was
    listed among the worst providers, but its link was a 400 ("provider holds
    control characters"); and "(none)" linked to `provider=` (any provider), so it
    listed every down target. Each link now lists exactly its provider's targets."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from sqlalchemy import text

    odd = "tab\there\nnew\x7fline"
    with known.engine.begin() as conn:
        conn.execute(text("UPDATE targets SET provider = :p WHERE id IN (3, 6)"), {"p": odd})
        conn.execute(text("UPDATE targets SET provider = NULL WHERE id IN (9, 12)"))
    _, html, _ = await get(server, "/")
    links = [
        attrs["href"] or ""
        for name, attrs in tags(html)
        if name == "a" and "provider=" in (attrs.get("href") or "")
    ]
    assert links
    for href in links:
        provider = parse_qs(urlsplit(href).query, keep_blank_values=True)["provider"][0]
        assert provider != "", href  # an empty filter is no filter: all providers
        status, page, _ = await get(server, href)
        assert status == 200, (href, page)
        api = href.replace("/targets?", "/api/v1/targets?", 1)
        status, body, _ = await get(server, api)
        items = json.loads(body)["items"]
        assert items and {i["provider"] for i in items} == {provider}, href


async def test_the_filter_form_keeps_a_provider_as_it_is(
    server: MetricsServer, known: Known
) -> None:
    """The form's fields hold the filter itself: spelled out (`abc\\u202edcba`), the
    provider field sent back another provider, and changing any other filter of a
    list reached from the overview listed nothing. Outside the field, the page
    still spells the override."""
    from sqlalchemy import text

    odd = "abc\u202edcba \u200bzw"
    with known.engine.begin() as conn:
        conn.execute(text("UPDATE targets SET provider = :p WHERE id = 3"), {"p": odd})
    status, html, _ = await get(server, "/targets?provider=" + quote_plus(odd))
    assert status == 200
    (field,) = [a for name, a in tags(html) if name == "input" and a.get("name") == "provider"]
    assert field["value"] == odd
    assert html.count("\u202e") == 1  # the field's value only
    assert "abc\\u202edcba" in html  # the row's provider cell


async def test_an_article_page_shows_a_huge_title_cut(server: MetricsServer, known: Known) -> None:
    """A corpus title has no size limit: a 20 MB one made its article page 20 MB, a
    dozen requests at once +600 MB in the daemon. The page's heading shows the
    first TITLE_CHARS characters and `…` (the JSON document keeps it whole)."""
    from sqlalchemy import text

    from monitor.observe.status.pages import TITLE_CHARS

    huge = "\u00c4" * 300_000
    with known.engine.begin() as conn:
        conn.execute(
            text("UPDATE articles SET title = :t WHERE id = :a"),
            {"t": huge, "a": "0000000000000002"},
        )
    status, html, _ = await get(server, "/articles/0000000000000002")
    assert status == 200 and len(html) < 20_000
    assert f"<h1>{huge[:TITLE_CHARS]}\u2026</h1>" in html


async def test_joiners_and_soft_hyphens_in_a_headline_stay_as_they_are(
    server: MetricsServer, known: Known
) -> None:
    """A Persian headline holds a zero-width non-joiner in most words, an emoji
    family is joined by zero-width joiners, a German one may carry soft hyphens:
    they shape text and move nothing, so the page keeps them (spelled `\\u200c`,
    the headline was unreadable). Overrides, isolates and marks are still spelled."""
    from sqlalchemy import text

    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u062f"
    title = f"{persian} \U0001f468\u200d\U0001f469 Nach\u00adrichten"
    with known.engine.begin() as conn:
        conn.execute(
            text("UPDATE articles SET title = :t WHERE id = :a"),
            {"t": title + "\u202e\u200f", "a": "0000000000000001"},
        )
    _, html, _ = await get(server, "/articles/0000000000000001")
    assert f"<h1>{title}\\u202e\\u200f</h1>" in html
