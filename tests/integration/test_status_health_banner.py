"""The status pages' banner: the daemon's own health, from the detail /readyz serves
(session 16, G5). The overview showed its counts as usual ("Last check never")
while /readyz said writes failed on a full disk or a corpus path was gone, and a
database that could not be read was a bare text 503. Reasons name files and quote
server text: they are escaped like everything else on the pages."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.status_db import XSS, Known
from support.status_http import get, get_json, known_db

from monitor.observe.endpoints import MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Repository

BANNER = 'class="troubles"'
HOSTILE = XSS + "\u202e\x1b[31m"  # markup, a bidi override, a terminal escape


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    yield from known_db("sqlite", tmp_path)


@asynccontextmanager
async def serving(known: Known, detail: dict[str, Any]) -> AsyncIterator[MetricsServer]:
    """The status pages over `known`, with a readiness whose detail is `detail`
    (changed in place by a test: the answer is reused for a second at most)."""

    async def ready() -> tuple[bool, dict[str, Any]]:
        return not detail, dict(detail)

    repo = Repository(known.engine)
    srv = MetricsServer(DaemonMetrics(repo.snapshot), ready, listen="127.0.0.1:0", repo=repo)
    srv._ready._ttl = 0  # every request judges afresh
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_no_banner_while_the_daemon_is_healthy(known: Known) -> None:
    healthy = {"database": "ok", "scheduler": "running", "writer": "ok", "corpus": []}
    async with serving(known, healthy) as srv:
        for path in ("/", "/targets", "/targets/3", "/articles/0000000000000001"):
            status, body, _ = await get(srv, path)
            assert status == 200 and BANNER not in body, path


async def test_each_failing_part_is_shown_escaped_on_every_page(known: Known) -> None:
    detail = {
        "database": "ok",
        "scheduler": "running",
        "writer": f"failing: database or disk is full {HOSTILE}",
        "claims": "failing: database is locked",
        "corpus": [f"corpus path missing: /srv/{HOSTILE}", "unreadable folder: /srv/x (denied)"],
        "cluster": {"member": "m1", "heartbeat": "failing: timeout", "stuck": ["m2"]},
    }
    async with serving(known, detail) as srv:
        for path in ("/", "/targets?state=down", "/targets/3", "/articles/0000000000000001"):
            status, body, _ = await get(srv, path)
            assert status == 200 and BANNER in body, path
            for part in ("writes", "claims", "corpus", "cluster heartbeat", "cluster"):
                assert f"<strong>{part}</strong>" in body, (path, part)
            assert "database or disk is full" in body and "/srv/x (denied)" in body
            assert "members stuck (holding claims, recording nothing): m2" in body
            assert "<script>" not in body and "<img" not in body, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
            assert "\u202e" not in body and "\x1b" not in body  # spelled out, not obeyed
        # what /readyz says fine is no trouble; the since of a part that goes on failing
        # is kept, and a part that works again leaves the banner
        first = (await get(srv, "/"))[1]
        since = first.split("<strong>claims</strong>")[1].split('datetime="')[1].split('"')[0]
        detail["claims"] = "failing: database is locked again"
        detail["writer"] = "ok"
        detail["corpus"] = []
        body = (await get(srv, "/"))[1]
        assert "<strong>writes</strong>" not in body and "<strong>corpus</strong>" not in body
        assert f'datetime="{since}"' in body.split("<strong>claims</strong>")[1]
        for key in ("claims", "cluster"):
            del detail[key]
        assert BANNER not in (await get(srv, "/"))[1]


async def test_a_database_that_cannot_be_read_shows_the_banner_not_a_bare_503(
    known: Known,
) -> None:
    detail = {"database": f"unreachable: disk I/O error {HOSTILE}", "writer": "ok"}
    with known.engine.begin() as conn:
        conn.execute(text("DROP TABLE transitions"))
    async with serving(known, detail) as srv:
        for path in ("/", "/targets?state=down", "/targets/3"):
            status, body, headers = await get(srv, path)
            assert status == 503, path
            assert headers["Content-Type"].startswith("text/html"), path
            assert BANNER in body and "<strong>database</strong>" in body, path
            assert "unreachable: disk I/O error" in body and "<script>" not in body, path
            assert "The database cannot be read now" in body, path
        # /readyz found the database fine, yet the page's read failed: said all the same
        detail["database"] = "ok"
        status, body, _ = await get(srv, "/")
        assert status == 503 and "<strong>database</strong>: " in body
        assert "the status cannot be read" in body
        # the API keeps its JSON error, the same document shape as the CLI's
        assert await get_json(srv, "/api/v1/status", 503) == {
            "error": "the database cannot be read now"
        }


async def test_the_api_status_document_stays_the_cli_s(known: Known) -> None:
    """CONTRACT 6: /api/v1/status is `status --format json`'s document, which has
    no live health: the banner is the pages' alone (/readyz serves it as JSON)."""
    detail = {"writer": "failing: database or disk is full", "database": "ok"}
    async with serving(known, detail) as srv:
        doc = await get_json(srv, "/api/v1/status")
        assert "database or disk is full" not in str(doc)
        assert BANNER in (await get(srv, "/"))[1]


ROOT = Path(__file__).resolve().parents[2]
CHECKERS = ROOT / "tests" / "browser"
HTML_VALIDATE = CHECKERS / "node_modules" / ".bin" / "html-validate"


@pytest.mark.skipif(not HTML_VALIDATE.exists(), reason="run scripts/test-deps.sh (html-validate)")
async def test_the_banner_and_the_unreadable_page_are_valid_html(
    known: Known, tmp_path: Path
) -> None:
    detail = {"writer": f"failing: {HOSTILE}", "corpus": [f"corpus path missing: {HOSTILE}"]}
    async with serving(known, detail) as srv:
        pages = {"overview": (await get(srv, "/"))[1]}
        with known.engine.begin() as conn:
            conn.execute(text("DROP TABLE transitions"))
        pages["unreadable"] = (await get(srv, "/"))[1]
    for name, html in pages.items():
        assert BANNER in html, name
        path = tmp_path / f"{name}.html"
        path.write_text(html)
        done = await asyncio.to_thread(
            subprocess.run,
            [str(HTML_VALIDATE), "--config", str(CHECKERS / ".htmlvalidate.json"), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=CHECKERS,
        )
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
