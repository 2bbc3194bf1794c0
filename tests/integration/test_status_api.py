"""The status API and pages on a real server and a real SQLite database with known
contents (tests/support/status_db.py): every endpoint, every bad parameter, pagination,
authentication, the OpenAPI document, escaping and the security headers."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import jsonschema
import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate as validate_spec
from support.pg import pg_engine
from support.status_db import XSS, Known, build, build_on

import monitor.storage.listing as listing
from monitor.cli import cli
from monitor.observe.endpoints import EndpointAuth, MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import TARGETS, Repository

TOKEN = "s3cret-token-never-shown"


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag a browser would build, with its attributes."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


async def _ready() -> tuple[bool, dict[str, Any]]:
    return True, {}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    if request.param == "sqlite":
        yield build(tmp_path / "am.db")
        return
    for engine in pg_engine():
        yield build_on(engine)


async def _start(known: Known, auth: EndpointAuth | None = None) -> MetricsServer:
    repo = Repository(known.engine)
    srv = MetricsServer(
        DaemonMetrics(repo.snapshot),  # as the daemon does
        _ready,
        listen="127.0.0.1:0",
        auth=auth,
        repo=repo,
    )
    await srv.start()
    return srv


@pytest.fixture
async def server(known: Known) -> AsyncIterator[MetricsServer]:
    srv = await _start(known)
    try:
        yield srv
    finally:
        await srv.stop()


async def _get(
    srv: MetricsServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(srv.url + path, headers=headers or {}) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


async def _json(srv: MetricsServer, path: str, status: int = 200) -> Any:
    got, body, headers = await _get(srv, path)
    assert got == status, (path, body)
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


async def _all_pages(srv: MetricsServer, query: str) -> tuple[list[int], int]:
    ids: list[int] = []
    cursor: str | None = None
    pages = 0
    for _ in range(1000):  # bounded
        sep = "&" if query else ""
        path = f"/api/v1/targets?{query}" + (f"{sep}cursor={cursor}" if cursor else "")
        page = await _json(srv, path)
        pages += 1
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("limit=7", {}),
        ("state=down&limit=10", {"state": "down"}),
        ("state=unknown&kind=amp&limit=3", {"state": "unknown", "kind": "amp"}),
        ("provider=Beta+%3Cb%3EDaily%3C%2Fb%3E&state=down&limit=5", {"state": "down"}),
        ("outcome=not_found&limit=1000", {"last_outcome": "not_found"}),
        ("problem=certificate_expiring&limit=4", {"last_problems": "certificate_expiring"}),
    ],
)
async def test_pagination_visits_every_item_once(
    server: MetricsServer, known: Known, query: str, where: dict[str, str]
) -> None:
    ids, pages = await _all_pages(server, query)
    expected = known.ids(active=True, **where)
    if "provider" in query:
        expected = [i for i in expected if known.targets[i]["provider"] == "Beta <b>Daily</b>"]
    assert ids == expected  # in id order, each once
    assert len(set(ids)) == len(ids)
    limit = int(re.search(r"limit=(\d+)", query).group(1))  # type: ignore[union-attr]
    assert pages == max(1, -(-len(expected) // limit))


async def test_a_scan_window_may_give_short_pages_yet_visits_everything(
    server: MetricsServer, known: Known, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`q` and `problem` scan a bounded window of ids per request."""
    monkeypatch.setattr(listing, "SCAN_WINDOW", 17)
    ids, pages = await _all_pages(server, "q=news.test%2Ft%2F1&limit=5")
    expected = [
        i for i in known.ids(active=True) if "news.test/t/1" in str(known.targets[i]["url"])
    ]
    assert ids == expected
    assert pages >= 250 // 17


async def test_q_is_a_substring_not_a_pattern(server: MetricsServer, known: Known) -> None:
    for q in ("%25", "_", "%27%20OR%201%3D1%20--", "%5C"):
        assert (await _json(server, f"/api/v1/targets?q={q}"))["items"] == []
    # the same on SQLite and PostgreSQL: case-sensitive (SQLite's LIKE is not)
    assert (await _json(server, "/api/v1/targets?q=NEWS.TEST"))["items"] == []
    found = await _json(server, "/api/v1/targets?q=%3Cscript%3E")
    assert [i["id"] for i in found["items"]] == [3]


async def test_a_retired_target_is_not_listed_but_found(server: MetricsServer) -> None:
    assert 5 not in (await _all_pages(server, "limit=1000"))[0]
    assert (await _json(server, "/api/v1/targets/5"))["active"] is False


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/targets?state=nope", "state"),
        ("/api/v1/targets?kind=nope", "kind"),
        ("/api/v1/targets?outcome=nope", "outcome"),
        ("/api/v1/targets?problem=nope", "problem"),
        ("/api/v1/targets?limit=0", "limit"),
        ("/api/v1/targets?limit=-5", "limit"),
        ("/api/v1/targets?limit=abc", "limit"),
        ("/api/v1/targets?limit=1001", "limit"),
        ("/api/v1/targets?cursor=AAAA", "cursor"),
        ("/api/v1/targets?provider=" + "p" * 300, "provider"),
        ("/api/v1/targets?q=" + "q" * 3000, "q"),
        ("/api/v1/targets?bogus=1", "bogus"),
        ("/api/v1/status?limit=0", "limit"),
        ("/api/v1/status?state=down", "state"),
        ("/api/v1/targets/3?x=1", "x"),
        ("/api/v1/articles/0000000000000001?x=1", "x"),
    ],
)
async def test_bad_parameters_get_400_naming_them(
    server: MetricsServer, path: str, parameter: str
) -> None:
    body = await _json(server, path, 400)
    assert body["parameter"] == parameter and body["error"]


async def test_a_cursor_is_bound_to_its_filters(server: MetricsServer) -> None:
    page = await _json(server, "/api/v1/targets?state=down&limit=2")
    body = await _json(server, f"/api/v1/targets?state=up&cursor={page['next_cursor']}", 400)
    assert body["parameter"] == "cursor"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/targets/999999",
        "/api/v1/targets/0",
        "/api/v1/targets/abc",
        "/api/v1/targets/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/targets/99999999999999999999999",
        "/api/v1/articles/ffffffffffffffff",
        "/api/v1/articles/..%2F..%2Fetc",
        "/api/v1/articles/%3Cscript%3E",
        "/api/v1/nothing",
    ],
)
async def test_unknown_ids_get_404(server: MetricsServer, path: str) -> None:
    assert "error" in await _json(server, path, 404)


async def test_the_target_document(server: MetricsServer, known: Known) -> None:
    t = await _json(server, "/api/v1/targets/3")
    assert t["url"] == known.targets[3]["url"]
    assert (t["state"], t["since"], t["last_outcome"]) == (
        "down",
        "2023-11-14T22:13:18.000Z",
        "not_found",
    )
    assert [r["at"] for r in t["results"]] == sorted((r["at"] for r in t["results"]), reverse=True)
    assert [x["to"] for x in t["transitions"]] == ["down"]
    assert t["articles"] == ["0000000000000004"]
    assert t["links"][0]["article"] == "0000000000000004"


async def test_the_article_document(server: MetricsServer, known: Known) -> None:
    a = await _json(server, "/api/v1/articles/0000000000000001")
    assert a["title"] == XSS and a["webUrl"] == known.articles["0000000000000001"]["web_url"]
    assert a["signature"]["status"] == "valid"
    assert {t["id"] for t in a["targets"]} == {i for i in known.targets if i % 10 == 0}
    tampered = await _json(server, "/api/v1/articles/0000000000000003")
    assert tampered["signature"] == {
        "status": "tampered",
        "fields": ["title"],
        "verified_at": None,
        "kid": None,
        "envelope": None,
    }


async def test_status_is_the_cli_document(server: MetricsServer, known: Known) -> None:
    api = await _json(server, "/api/v1/status")
    url = str(known.engine.url)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["status", "--db", url, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == api
    assert api["targets"]["web"]["down"] == len(known.ids(active=True, kind="web", state="down"))


async def test_openapi_is_valid_and_every_answer_matches_it(
    server: MetricsServer,
) -> None:
    spec = await _json(server, "/api/v1/openapi.json")
    validate_spec(spec)
    components = {"components": spec["components"]}

    def check(path: str, status: int, body: Any) -> None:
        template = re.sub(r"/(targets|articles)/[^/?]+", r"/\1/{id}", path.split("?")[0])
        answers = spec["paths"][template]["get"]["responses"][str(status)]
        schema = answers["content"]["application/json"]["schema"]
        jsonschema.validate(body, {**schema, **components})

    for path, status in [
        ("/api/v1/status", 200),
        ("/api/v1/targets", 200),
        ("/api/v1/targets?state=down&limit=3", 200),
        ("/api/v1/targets/3", 200),
        ("/api/v1/targets/5", 200),
        ("/api/v1/targets/7", 200),
        ("/api/v1/articles/0000000000000001", 200),
        ("/api/v1/targets?limit=0", 400),
        ("/api/v1/targets/999", 404),
        ("/api/v1/articles/ffffffffffffffff", 404),
    ]:
        check(path, status, await _json(server, path, status))


async def test_a_token_guards_every_new_route(known: Known) -> None:
    srv = await _start(known, EndpointAuth.of(TOKEN))
    try:
        paths = [
            "/api/v1/status",
            "/api/v1/targets",
            "/api/v1/targets/3",
            "/api/v1/articles/0000000000000001",
            "/api/v1/openapi.json",
            "/api/v1/other",
            "/",
            "/targets?state=down",
            "/targets/3",
            "/articles/0000000000000001",
            "/static/status.css",
        ]
        for path in paths:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                status, body, got = await _get(srv, path, headers)
                assert status == 401, path
                assert got["WWW-Authenticate"] == "Bearer"
                assert TOKEN not in body and "alert" not in body
            status, _, _ = await _get(srv, path, {"Authorization": f"Bearer {TOKEN}"})
            assert status == (404 if path == "/api/v1/other" else 200), path
    finally:
        await srv.stop()


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
    status, html, headers = await _get(server, path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    tags = _tags(html)
    names = {name for name, _ in tags}
    assert not names & {"script", "img", "b", "iframe", "object"}, names
    for name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        if name == "a" and "external" in (attrs.get("class") or ""):
            assert attrs["rel"] == "noopener noreferrer"
            assert re.match(r"https?://", attrs["href"] or "")


async def test_the_hostile_url_is_shown_as_text(server: MetricsServer) -> None:
    _, html, _ = await _get(server, "/targets/3")
    assert (
        "https://news.test/&#34;&#39;&gt;&lt;script&gt;alert(3)&lt;/script&gt;?q=&lt;b&gt;" in html
    )


async def test_page_errors_name_the_parameter(server: MetricsServer) -> None:
    status, html, _ = await _get(server, "/targets?state=%3Cscript%3E")
    assert status == 400 and "<code>state</code>" in html and "<script>" not in html
    status, html, _ = await _get(server, "/targets/..%2F..%2Fetc%2Fpasswd")
    assert status == 404
    status, html, _ = await _get(server, "/articles/nope")
    assert status == 404
    status, _, _ = await _get(server, "/static/..%2F..%2Fconfig.py")
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
        status, html, _ = await _get(server, path)
        assert status == 200, (rule.name, path, html[:300])
        if "provider=" in path:
            assert [
                a["href"]
                for n, a in _tags(html)
                if n == "a" and a.get("href", "").startswith("/targets/")
            ] == ["/targets/3"]
        linked += "?" in path
    assert linked >= 3


async def test_links_follow_public_urls_path(known: Known) -> None:
    """Behind a proxy that serves the pages under /am/, every link keeps the prefix."""
    repo = Repository(known.engine)
    srv = MetricsServer(
        DaemonMetrics(repo.snapshot),
        _ready,
        listen="127.0.0.1:0",
        repo=repo,
        public_url="https://ops.example/am",
    )
    await srv.start()
    try:
        for path in ("/", "/targets?state=down", "/targets/3", "/articles/0000000000000001"):
            _, html, _ = await _get(srv, path)
            local = [
                attrs.get("href") or ""
                for name, attrs in _tags(html)
                if name in ("a", "link", "form") and "external" not in (attrs.get("class") or "")
            ] + [attrs.get("action") or "" for name, attrs in _tags(html) if name == "form"]
            local = [h for h in local if h and not h.startswith("#")]
            assert local and all(h.startswith("/am/") for h in local), (path, local)
    finally:
        await srv.stop()


async def test_a_database_that_cannot_be_read_is_503_not_an_empty_list(
    server: MetricsServer, known: Known, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text

    with known.engine.begin() as conn:
        conn.execute(text("DROP TABLE transitions"))
    for path in ("/api/v1/targets?state=down", "/api/v1/targets/3", "/api/v1/status"):
        assert (await _json(server, path, 503)) == {"error": "the database cannot be read now"}
    status, body, _ = await _get(server, "/targets?state=down")
    assert status == 503 and "transitions" not in body
    assert "OperationalError" in caplog.text or "ProgrammingError" in caplog.text
    assert "transitions" not in caplog.text  # the driver's message is not logged


async def test_controls_and_bidi_overrides_are_spelled_out_on_pages(
    server: MetricsServer, known: Known
) -> None:
    from sqlalchemy import text

    with known.engine.begin() as conn:
        conn.execute(text("UPDATE targets SET provider = :p WHERE id = 3"), {"p": "a\u202eb\x1bc"})
    _, html, _ = await _get(server, "/targets/3")
    assert "\u202e" not in html and "\x1b" not in html
    assert "a\\u202eb\\x1bc" in html


async def test_the_list_page_says_how_many_match_in_all(
    server: MetricsServer, known: Known
) -> None:
    down = len(known.ids(active=True, state="down"))
    _, html, _ = await _get(server, "/targets?state=down&limit=10")
    assert f"10 targets on this page of {down:,}" in html
    _, html, _ = await _get(server, "/targets?state=down&kind=web")
    web = len(known.ids(active=True, state="down", kind="web"))
    assert f"{web} targets on this page of {web}" in html
    _, html, _ = await _get(server, "/targets?q=news")  # a substring cannot be counted
    assert "targets on this page</h2>" in html


async def test_a_large_count_is_capped_not_counted(
    server: MetricsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 5)
    _, html, _ = await _get(server, "/targets?provider=Alpha+News&limit=3")
    assert "3 targets on this page of 5+" in html


async def test_worst_providers_match_a_count_of_every_target(
    server: MetricsServer, known: Known
) -> None:
    from collections import Counter

    from sqlalchemy import select

    with known.engine.begin() as conn:
        conn.execute(TARGETS.update().where(TARGETS.c.id == 6).values(provider=None))
        conn.execute(TARGETS.update().where(TARGETS.c.id.in_([9, 10])).values(provider="Zed"))
        rows = conn.execute(
            select(TARGETS.c.provider, TARGETS.c.state).where(TARGETS.c.next_due.is_not(None))
        ).all()
    down = Counter(p or "" for p, s in rows if s == "down")
    total = Counter(p or "" for p, _ in rows)
    doc = await _json(server, "/api/v1/status?limit=2")
    expected = sorted(down, key=lambda p: (-down[p], p))[:2]
    assert [w["provider"] for w in doc["worst_providers"]] == expected
    for w in doc["worst_providers"]:
        assert (w["down"], w["targets"]) == (down[w["provider"]], total[w["provider"]])
    doc = await _json(server, "/api/v1/status?limit=10")
    assert {w["provider"]: w["down"] for w in doc["worst_providers"]} == dict(down)
