"""The status JSON API on a real server and a real database with known contents
(tests/support/status_db.py; SQLite, and PostgreSQL when one is given): every
endpoint, every bad parameter, pagination, authentication, the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate as validate_spec
from support.status_db import XSS, Known
from support.status_http import DIALECTS, get, get_json, known_db, running

import monitor.storage.listing as listing
from monitor.cli import cli
from monitor.observe.endpoints import EndpointAuth, MetricsServer
from monitor.storage.repository import TARGETS

TOKEN = "s3cret-token-never-shown"


DIALECT_PARAMS = [
    pytest.param(d, marks=[pytest.mark.postgres] if d == "postgres" else []) for d in DIALECTS
]


@pytest.fixture(scope="module", params=DIALECT_PARAMS)
def known(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Known]:
    """One database of known contents for the file's tests that only read it (a
    build per test was most of their time); a test that writes to it takes `own`."""
    yield from known_db(request.param, tmp_path_factory.mktemp("known"))


@pytest.fixture(params=DIALECT_PARAMS)
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    """A database of known contents for one test, which changes it."""
    yield from known_db(request.param, tmp_path)


@pytest.fixture
async def server(known: Known) -> AsyncIterator[MetricsServer]:
    async with running(known) as srv:
        yield srv


@pytest.fixture
async def own_server(own: Known) -> AsyncIterator[MetricsServer]:
    async with running(own) as srv:
        yield srv


async def _all_pages(srv: MetricsServer, query: str) -> tuple[list[int], int]:
    ids: list[int] = []
    cursor: str | None = None
    pages = 0
    for _ in range(1000):  # bounded
        sep = "&" if query else ""
        path = f"/api/v1/targets?{query}" + (f"{sep}cursor={cursor}" if cursor else "")
        page = await get_json(srv, path)
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
        assert (await get_json(server, f"/api/v1/targets?q={q}"))["items"] == []
    # the same on SQLite and PostgreSQL: case-sensitive (SQLite's LIKE is not)
    assert (await get_json(server, "/api/v1/targets?q=NEWS.TEST"))["items"] == []
    found = await get_json(server, "/api/v1/targets?q=%3Cscript%3E")
    assert [i["id"] for i in found["items"]] == [3]


async def test_a_retired_target_is_not_listed_but_found(server: MetricsServer) -> None:
    assert 5 not in (await _all_pages(server, "limit=1000"))[0]
    assert (await get_json(server, "/api/v1/targets/5"))["active"] is False


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
    body = await get_json(server, path, 400)
    assert body["parameter"] == parameter and body["error"]


async def test_a_cursor_is_bound_to_its_filters(server: MetricsServer) -> None:
    page = await get_json(server, "/api/v1/targets?state=down&limit=2")
    body = await get_json(server, f"/api/v1/targets?state=up&cursor={page['next_cursor']}", 400)
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
    assert "error" in await get_json(server, path, 404)


async def test_the_target_document(server: MetricsServer, known: Known) -> None:
    t = await get_json(server, "/api/v1/targets/3")
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
    a = await get_json(server, "/api/v1/articles/0000000000000001")
    assert a["title"] == XSS and a["webUrl"] == known.articles["0000000000000001"]["web_url"]
    assert a["signature"]["status"] == "valid"
    assert {t["id"] for t in a["targets"]} == {i for i in known.targets if i % 10 == 0}
    tampered = await get_json(server, "/api/v1/articles/0000000000000003")
    assert tampered["signature"] == {
        "status": "tampered",
        "fields": ["title"],
        "verified_at": None,
        "kid": None,
        "envelope": None,
    }


async def test_status_is_the_cli_document(server: MetricsServer, known: Known) -> None:
    api = await get_json(server, "/api/v1/status")
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
    spec = await get_json(server, "/api/v1/openapi.json")
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
        check(path, status, await get_json(server, path, status))


async def test_a_token_guards_every_new_route(known: Known) -> None:
    async with running(known, EndpointAuth.of(TOKEN)) as srv:
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
                status, body, got = await get(srv, path, headers)
                assert status == 401, path
                assert got["WWW-Authenticate"] == "Bearer"
                assert TOKEN not in body and "alert" not in body
            status, _, _ = await get(srv, path, {"Authorization": f"Bearer {TOKEN}"})
            assert status == (404 if path == "/api/v1/other" else 200), path


async def test_a_database_that_cannot_be_read_is_503_not_an_empty_list(
    own_server: MetricsServer, own: Known, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text

    with own.engine.begin() as conn:
        conn.execute(text("DROP TABLE transitions"))
    for path in ("/api/v1/targets?state=down", "/api/v1/targets/3", "/api/v1/status"):
        assert (await get_json(own_server, path, 503)) == {
            "error": "the database cannot be read now"
        }
    status, body, _ = await get(own_server, "/targets?state=down")
    assert status == 503 and "transitions" not in body
    assert "OperationalError" in caplog.text or "ProgrammingError" in caplog.text
    assert "transitions" not in caplog.text  # the driver's message is not logged


async def test_worst_providers_match_a_count_of_every_target(
    own_server: MetricsServer, own: Known
) -> None:
    from collections import Counter

    from sqlalchemy import select

    with own.engine.begin() as conn:
        conn.execute(TARGETS.update().where(TARGETS.c.id == 6).values(provider=None))
        conn.execute(TARGETS.update().where(TARGETS.c.id.in_([9, 10])).values(provider="Zed"))
        rows = conn.execute(
            select(TARGETS.c.provider, TARGETS.c.state).where(TARGETS.c.next_due.is_not(None))
        ).all()
    down = Counter(p or "" for p, s in rows if s == "down")
    total = Counter(p or "" for p, _ in rows)
    doc = await get_json(own_server, "/api/v1/status?limit=2")
    expected = sorted(down, key=lambda p: (-down[p], p))[:2]
    assert [w["provider"] for w in doc["worst_providers"]] == expected
    for w in doc["worst_providers"]:
        assert (w["down"], w["targets"]) == (down[w["provider"]], total[w["provider"]])
    doc = await get_json(own_server, "/api/v1/status?limit=10")
    assert {w["provider"]: w["down"] for w in doc["worst_providers"]} == dict(down)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/status"),
        ("DELETE", "/api/v1/targets/3"),
        ("PUT", "/api/v1/targets"),
        ("OPTIONS", "/api/v1/openapi.json"),
        ("POST", "/api/v1/nothing"),
        ("GET", "/api/v1"),
    ],
)
async def test_a_wrong_method_or_path_under_the_api_is_a_json_error(
    server: MetricsServer, method: str, path: str
) -> None:
    """Every answer under /api/v1/ is JSON, aiohttp's own 404 and 405 included (they
    were text/plain `405: Method Not Allowed`), with the security headers."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.url + path) as resp,
    ):
        body = await resp.read()
        assert resp.status in (404, 405), (method, path)
        assert resp.headers["Content-Type"].startswith("application/json")
        assert set(json.loads(body)) == {"error"}
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        if resp.status == 405:
            assert "GET" in resp.headers["Allow"]


async def test_a_target_page_is_small_whatever_its_articles_titles(
    own_server: MetricsServer, own: Known
) -> None:
    """A target lists up to ARTICLES_PER_ITEM articles by title, and a corpus title has
    no size limit: 50 titles of 2 MB made one target's JSON and page 100 MB, and a
    dozen such requests at once took the daemon to 3.4 GB. A listed title is cut
    (with `…`); the article's own document keeps ARTICLE_TITLE_CHARS of it (below)."""
    from sqlalchemy import text

    huge = "\u00c4" * 200_000
    with own.engine.begin() as conn:
        conn.execute(
            text("UPDATE articles SET title = :t WHERE id = :a"),
            {"t": huge, "a": "0000000000000002"},
        )
    got, body, _ = await get(own_server, "/api/v1/targets/1")
    assert got == 200 and len(body) < 10_000
    (link,) = json.loads(body)["links"]
    cap = listing.LINK_TITLE_CHARS
    assert link["title"] == huge[:cap] + "\u2026"
    got, html, _ = await get(own_server, "/targets/1")
    assert got == 200 and len(html) < 20_000 and huge[:cap] + "\u2026" in html


async def test_an_article_document_is_bounded_whatever_its_title(
    own_server: MetricsServer, own: Known
) -> None:
    """A 20 MB corpus title made its article's JSON 20 MB, and 100 clients that asked
    for it and read nothing held 850 MB of the daemon (each answer in its socket's
    buffer). The document keeps the first ARTICLE_TITLE_CHARS characters and `…`,
    far beyond any headline; a title that long or shorter is whole."""
    from sqlalchemy import text

    cap = listing.ARTICLE_TITLE_CHARS
    for title, shown in [
        ("\u00c4" * 200_000, "\u00c4" * cap + "\u2026"),
        ("x" * cap, "x" * cap),
        ("Story", "Story"),
    ]:
        with own.engine.begin() as conn:
            conn.execute(
                text("UPDATE articles SET title = :t WHERE id = :a"),
                {"t": title, "a": "0000000000000002"},
            )
        got, body, _ = await get(own_server, "/api/v1/articles/0000000000000002")
        assert got == 200 and len(body) < 3 * cap + 10_000
        assert json.loads(body)["title"] == shown
