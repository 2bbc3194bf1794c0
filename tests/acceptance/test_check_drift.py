"""`check` against loopback publishers whose links answer but are no longer the article:
content_drift, redirect_to_root and soft_404 (title and random-path probe), in the
JSON report, with what publishers routinely do left alone (issue 15)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.report_schema import assert_valid_report

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "monitor"]

TITLE = "Security lapse exposed Clearview AI source code"
EXCERPT = (
    "Since it exploded onto the scene in January after a newspaper exposé, Clearview AI "
    "quickly became one of the most elusive, secretive, and reviled companies."
)
PROBE = "am-probe-"


def doc(
    head: str,
    body: str = "",
    *,
    title: str | None = None,
    og: str | None = None,
    description: str | None = None,
) -> str:
    metas = ""
    if og is not None:
        metas += f'<meta property="og:title" content="{og}">'
    if description is not None:
        metas += f'<meta name="description" content="{description}">'
    shown = "" if title is None else f"<title>{title}</title>"
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>{shown}{metas}{head}"
        f"<script>window.dataLayer=[];</script></head><body>{body}<p>text</p></body></html>"
    )


HOME = doc("", "<h1>Top stories</h1>", title="TechCrunch | Startup and Technology News")
STORY = "/2020/04/16/clearview-source-code-lapse/"
PAGES: dict[tuple[str, str], str] = {
    # routine publisher changes: never drift
    ("news.example", STORY): doc(
        "",
        f"<h1>{TITLE}</h1>",
        title=f"{TITLE} | TechCrunch",
        og=TITLE,
        description=EXCERPT,
    ),
    ("news.example", "/2020/04/17/updated/"): doc(
        "",
        "<h1>Clearview AI&#8217;s source code exposed in security lapse</h1>",
        title="Clearview AI&#8217;s source code exposed in security lapse &#8211; TechCrunch",
    ),
    ("news.example", "/2020/04/18/deutsch/"): doc(
        "", title="Clearview AI: Sicherheitslücke legte Quellcode offen - TechCrunch DE"
    ),
    # the page is something else now
    ("news.example", "/2020/04/19/reused/"): doc(
        "",
        "<h1>The ten best laptops for students</h1>",
        title="The ten best laptops for students | TechCrunch",
        description="Our pick of this year's laptops for every budget.",
    ),
    ("news.example", "/"): HOME,
    ("parked.example", "/2020/04/16/story.html"): doc(
        "", title="parked.example is for sale!", description="This domain may be for sale."
    ),
    # JS-only page: an empty title says nothing
    ("spa.example", "/story/123"): doc('<script src="/app.js"></script>', title=""),
    # a not-found template answered with 200
    ("templ.example", "/2020/gone-story/"): doc(
        "", "<h1>Sorry, that page was not found</h1>", title="Page not found | Templ"
    ),
}
# hosts that answer every path with one page: the probe's business
ANY_PATH = {
    "soft.example": doc("", "<h1>Welcome</h1>", title="Soft Site - welcome"),
    "spa.example": doc('<script src="/app.js"></script>', title=""),
}
REDIRECTS = {("news.example", "/2019/deleted-story/"): "http://news.example/"}


class Publishers:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = request.host.split(":")[0]
        path = request.path
        self.hits[host + path] += 1
        if (host, path) in REDIRECTS:
            raise web.HTTPMovedPermanently(REDIRECTS[host, path])
        text = PAGES.get((host, path)) or ANY_PATH.get(host)
        if text is None:
            raise web.HTTPNotFound(text="<title>404</title>", content_type="text/html")
        return web.Response(text=text, content_type="text/html")

    def probes(self, host: str) -> list[str]:
        return [k for k in self.hits if k.startswith(host + "/") and PROBE in k]


@pytest.fixture
async def publishers() -> AsyncIterator[tuple[Publishers, list[str]]]:
    site = Publishers()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    args = [
        "--connect-to",
        f"::127.0.0.1:{server.port}",
        "--allow-network",
        "127.0.0.0/8",
        "--timeout",
        "5",
        "--retries",
        "0",
        "--kinds",
        "web",
    ]
    yield site, args
    await server.close()


def record(url: str, title: str = TITLE, **extra: Any) -> dict[str, Any]:
    return {"webUrl": url, "title": title, "excerpt": EXCERPT, **extra}


async def run_check(tmp_path: Path, records: list[dict[str, Any]], *args: str) -> dict[str, Any]:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "check",
        str(corpus),
        "--format",
        "json",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in (0, 1), err.decode()
    report: dict[str, Any] = json.loads(out)
    assert_valid_report(report)
    return report


def by_url(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["url"]: t for a in report["articles"] for t in a["targets"]}


def codes(target: dict[str, Any]) -> set[str]:
    return {p["code"] for p in target["problems"]}


async def test_publisher_pages_in_the_json_report(
    publishers: tuple[Publishers, list[str]], tmp_path: Path
) -> None:
    site, args = publishers
    urls = {
        "healthy": f"http://news.example{STORY}",
        "edited": "http://news.example/2020/04/17/updated/",
        "language": "http://news.example/2020/04/18/deutsch/",
        "reused": "http://news.example/2020/04/19/reused/",
        "deleted": "http://news.example/2019/deleted-story/",
        "parked": "http://parked.example/2020/04/16/story.html",
        "spa": "http://spa.example/story/123",
        "template": "http://templ.example/2020/gone-story/",
        "any_path": "http://soft.example/2020/04/16/clearview/",
        "any_path_2": "http://soft.example/2020/04/16/other/",
    }
    report = await run_check(tmp_path, [record(u) for u in urls.values()], *args)
    got = by_url(report)
    t = {name: got[url] for name, url in urls.items()}
    for name in ("healthy", "edited", "language", "spa"):
        assert t[name]["outcome"] == "ok" and codes(t[name]) == set(), (name, t[name])
    assert codes(t["reused"]) == {"content_drift"}
    [drift] = t["reused"]["problems"]
    assert "page title is now 'The ten best laptops for students | TechCrunch'" in drift["message"]
    assert codes(t["parked"]) == {"content_drift"}
    assert "parked.example is for sale!" in t["parked"]["problems"][0]["message"]
    # a deleted article sent home: the outcome follows the status, both problems on top
    assert t["deleted"]["outcome"] == "moved"
    assert codes(t["deleted"]) == {"redirect_to_root", "content_drift"}
    assert codes(t["template"]) == {"soft_404"}  # said by its title; not also drift
    for name in ("any_path", "any_path_2"):
        assert codes(t[name]) == {"soft_404"}, t[name]
        assert "cannot exist" in t[name]["problems"][0]["message"]
        assert t[name]["attempts"] == 1  # the probe counts in no target's attempts
    # one probe per host and directory; a host that answered one with a real 404 gets no more
    assert len(site.probes("soft.example")) == 1
    assert len(site.probes("news.example")) == 1


async def test_switches_turn_each_check_off(
    publishers: tuple[Publishers, list[str]], tmp_path: Path
) -> None:
    site, args = publishers
    config = tmp_path / "off.toml"
    config.write_text(
        "check_content_drift = false\ncheck_redirect_to_root = false\nsoft_404_probe = false\n"
    )
    urls = [
        "http://news.example/2020/04/19/reused/",
        "http://news.example/2019/deleted-story/",
        "http://soft.example/2020/04/16/clearview/",
    ]
    report = await run_check(tmp_path, [record(u) for u in urls], *args, "--config", str(config))
    assert all(codes(t) == set() for t in by_url(report).values()), report
    assert not site.probes("soft.example") and not site.probes("news.example")


async def test_workers_carry_the_fingerprint_through_the_pipe(
    publishers: tuple[Publishers, list[str]], tmp_path: Path
) -> None:
    _, args = publishers
    urls = ["http://news.example/2020/04/19/reused/", f"http://news.example{STORY}"]
    report = await run_check(tmp_path, [record(u) for u in urls], *args, "--workers", "2")
    got = by_url(report)
    assert codes(got[urls[0]]) == {"content_drift"}
    assert codes(got[urls[1]]) == set()
