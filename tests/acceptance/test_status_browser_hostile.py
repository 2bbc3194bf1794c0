"""The status pages in headless Chromium over a corpus of hostile text (hostile review
#3): bidi overrides, zero-width characters, no-break spaces, markup and
`javascript:` / `data:` URLs in titles, providers and target URLs.

Nothing runs (no dialog, no script or image element, no console error), every
link is relative or http(s), an override is spelled out rather than obeyed, a
headline's no-break space stays a space, and the filter form sends a provider
back as it was. Skipped like test_status_browser.py when Chromium is missing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from daemon_harness import DaemonProcess, wait_for, write_config
from test_status_browser import ARGS, CHROMIUM, Site

pytestmark = pytest.mark.browser

from playwright.async_api import Route, async_playwright  # noqa: E402

BIDI_PROVIDER = "abc\u202edcba"
TITLE = "Le pr\u00e9sident\u00a0: \u00abun\u200bmot\u00bb \u2066iso <b>x</b>"
# a joiner kept in a link's text (a macro's output then holds it) and an override spelled
JOINED_URL = "http://news.test/gone/zw\u200cj/\u202eevil"
SCHEMES = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:x"]


def _doc(n: int, **fields: Any) -> str:
    art = {"webUrl": f"http://news.test/gone/{n}", "title": "t", **fields}
    return json.dumps(art)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    loop = asyncio.new_event_loop()
    site = Site()
    loop.run_until_complete(site.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = write_config(tmp_path, site.port, kinds=["web", "amp", "image"])
    corpus = tmp_path / "corpus"
    (corpus / "a.json").write_text(
        _doc(
            1,
            title=TITLE,
            provider={"name": "P", "domain": BIDI_PROVIDER},
            ampWebUrl=JOINED_URL,
        )
    )
    for n, url in enumerate(SCHEMES, 2):
        (corpus / f"s{n}.json").write_text(
            _doc(n, ampWebUrl=url, images=[{"url": url, "width": 1, "height": 1}])
        )
    proc = DaemonProcess(cfg)
    try:
        proc.wait_listening()

        def listed() -> Any:
            status, body = proc.get("/api/v1/targets?limit=1000")
            items = json.loads(body)["items"] if status == 200 else []
            return len([i for i in items if i["state"] != "unknown"]) >= 1 + 2 * len(SCHEMES)

        wait_for(listed, 60, what=proc.text)
        yield proc
    finally:
        proc.kill()
        asyncio.run_coroutine_threadsafe(site.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _drive(proc: DaemonProcess) -> None:
    base = proc.metrics_url
    assert base
    host = urlsplit(base).hostname
    outside: list[str] = []
    problems: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname != host:
            outside.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    status, body = proc.get("/api/v1/targets?limit=1000")
    assert status == 200
    items = json.loads(body)["items"]
    articles = sorted({a for i in items for a in i["articles"]})
    paths = ["/", "/targets?limit=1000"]
    paths += [f"/targets/{i['id']}" for i in items] + [f"/articles/{a}" for a in articles]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context()
            await context.route("**/*", only_loopback)
            page = await context.new_page()
            page.on("dialog", lambda d: problems.append("dialog " + d.message))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            for path in paths:
                await page.goto(base + path)
                seen = await page.evaluate(
                    """() => ({
                      active: document.querySelectorAll('script,img,iframe,object,embed').length,
                      links: [...document.querySelectorAll('[href],[src],[action]')].map(e =>
                        ['href', 'src', 'action'].map(a => e.getAttribute(a) ?? '').join('')),
                      text: document.body.innerText,
                    })"""
                )
                assert seen["active"] == 0, path
                schemes = {urlsplit(link).scheme.lower() for link in seen["links"]}
                assert schemes <= {"", "http", "https"}, (path, seen["links"])
                assert "\u202e" not in seen["text"] and "\u200b" not in seen["text"], path
                assert "<a " not in seen["text"], path  # markup shown as text
            # the headline: no-break space kept, the zero-width space and isolate spelled
            article = next(i["articles"][0] for i in items if i["provider"] == BIDI_PROVIDER)
            await page.goto(f"{base}/articles/{article}")
            heading = await page.locator("h1").inner_text()
            assert heading == TITLE.replace("\u200b", "\\u200b").replace("\u2066", "\\u2066")
            # the joined URL's link: its text spelled where it must be, its href the URL
            joined = next(i for i in items if i["url"] == JOINED_URL)
            await page.goto(f"{base}/targets/{joined['id']}")
            link = page.locator("p.url a")
            assert await link.inner_text() == JOINED_URL.replace("\u202e", "\\u202e")
            assert await link.get_attribute("href") == JOINED_URL
            # the provider, from the overview, filters; the form sends it back unchanged
            await page.goto(base + "/")
            async with page.expect_navigation():
                await page.get_by_role("link", name="abc\\u202edcba").click()
            assert await page.get_by_label("Provider").input_value() == BIDI_PROVIDER
            rows = page.locator("main table tbody tr")
            assert await rows.count() == 2  # the article's web and amp targets, both down
            await page.get_by_label("Kind").select_option("web")
            async with page.expect_navigation():
                await page.get_by_role("button", name="Filter").click()
            assert await rows.count() == 1
            assert problems == [] and outside == []
        finally:
            await browser.close()


def test_hostile_corpus_text_is_inert_on_every_page(daemon: DaemonProcess) -> None:
    asyncio.run(_drive(daemon))
