"""The status pages as a person uses them: the daemon on a loopback corpus with some
links down, driven in headless Chromium (Debian `chromium`, through Playwright).

Down targets appear, a filter narrows them, a target's page shows its timeline; a
target URL and an article title crafted with `<script>` and quotes render as text;
no console error and no request leaving 127.0.0.1 (every request is intercepted);
each page's HTML validates (npm html-validate) and axe-core finds no serious or
critical violation. With ARTICLE_MONITOR_SCREENSHOTS=1 the pages are saved under
docs/screenshots/ (wide and phone).

Skipped, with the reason, when Chromium, node or the npm checkers are missing
(scripts/test-deps.sh installs them).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from daemon_harness import DaemonProcess, wait_for, write_config

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHECKERS = ROOT / "tests" / "browser"
AXE = CHECKERS / "node_modules" / "axe-core" / "axe.min.js"
HTML_VALIDATE = CHECKERS / "node_modules" / ".bin" / "html-validate"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "docs" / "screenshots"
# the corpus refuses <>" unencoded in a URL (monitor/urls.py): quotes, & and encoded markup
HOSTILE_PATH = "/gone/'%22%3E%3Cscript%3Ealert(1)%3C/script%3E?q='x'&amp=1"
HOSTILE_TITLE = "\"'><script>alert(2)</script><img src=x onerror=alert(3)>"
# the provider's domain names it on the pages (daemon/records.py provider_of)
HOSTILE_PROVIDER = '<b>news</b> "&amp;" <script>alert(4)</script>'


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Chromium (Debian package chromium) is not installed: run scripts/test-deps.sh"
    if shutil.which("node") is None:
        return "node is not installed: run scripts/test-deps.sh"
    if not AXE.exists() or not HTML_VALIDATE.exists():
        return "tests/browser/node_modules is missing: run scripts/test-deps.sh"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed: pip install -e '.[dev]'"
    return None


if (reason := _missing()) is not None:
    pytest.skip(reason, allow_module_level=True)

from playwright.async_api import Page, Route, async_playwright  # noqa: E402


class Site:
    """A loopback site: paths under /gone/ answer 404, everything else 200."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path.startswith("/gone/"):
            return web.Response(status=404, text="gone")
        return web.Response(
            text="<!doctype html><html><head><title>Story</title></head><body>ok</body></html>",
            content_type="text/html",
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def _doc(url: str, title: str, domain: str = "news.test") -> str:
    return (
        f"---\nwebUrl: {json.dumps(url)}\ntitle: {json.dumps(title)}\n"
        f"provider:\n  name: News\n  domain: {json.dumps(domain)}\n---\n"
    )


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[DaemonProcess, dict[str, Any]]]:
    loop = asyncio.new_event_loop()
    site = Site()
    loop.run_until_complete(site.start())
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = write_config(tmp_path, site.port)
    corpus = tmp_path / "corpus"
    for n in (1, 2, 3):
        (corpus / f"ok{n}.txt").write_text(_doc(f"http://news.test/ok/{n}", f"Fine story {n}"))
    for n in (1, 2):
        (corpus / f"gone{n}.txt").write_text(_doc(f"http://news.test/gone/{n}", f"Lost {n}"))
    (corpus / "hostile.txt").write_text(
        _doc("http://news.test" + HOSTILE_PATH, HOSTILE_TITLE, HOSTILE_PROVIDER)
    )
    proc = DaemonProcess(cfg)
    try:
        proc.wait_listening()

        def down() -> Any:
            status, body = proc.get("/api/v1/targets?state=down")
            page = json.loads(body) if status == 200 else {"items": []}
            return page if len(page["items"]) == 3 else None

        page = wait_for(down, 60, what=proc.text)
        yield proc, page
    finally:
        proc.kill()
        asyncio.run_coroutine_threadsafe(site.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _validate_html(pages: list[Path]) -> None:
    """html-validate on every page served, in one run: its report names each
    file it faults (a run a page cost a node start each, ~0.4 s)."""
    done = subprocess.run(
        [str(HTML_VALIDATE), "--config", str(CHECKERS / ".htmlvalidate.json"), *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=CHECKERS,
    )
    assert done.returncode == 0, f"{done.stdout}{done.stderr}"


async def _axe(page: Page, name: str) -> None:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document)")
    assert len(result["passes"]) > 10, name  # axe ran its rules on this page
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], name


async def _drive(base: str, down: dict[str, Any], tmp: Path) -> None:
    host = urlsplit(base).hostname
    outside: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []
    served_pages: list[Path] = []  # the server's bytes of each page, validated at the end

    def keep(html: str, name: str) -> None:
        path = tmp / f"{name}.html"
        path.write_text(html)
        served_pages.append(path)

    shots = os.environ.get("ARTICLE_MONITOR_SCREENSHOTS") == "1"

    async def only_loopback(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.hostname != host:
            outside.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", only_loopback)
            page = await context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: dialogs.append(d.message))
            visited: dict[str, str] = {}

            async def seen(name: str) -> None:
                visited[name] = page.url
                served = await context.request.get(page.url)  # the server's bytes, not the DOM
                keep(await served.text(), name)
                if shots:
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

            await page.goto(base + "/")
            assert await page.locator("h1").inner_text() == "Link status"
            await seen("overview")
            # keyboard: the first Tab reaches the skip link, which moves on to the content
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
            await page.keyboard.press("Enter")
            # the hash changes once the browser has handled the key (under load, a
            # moment after press() returns: read at once, it failed a loaded CI run)
            await page.wait_for_function("location.hash === '#main'", timeout=10_000)
            assert page.url.endswith("#main")

            # the down targets appear, one click from the overview
            async with page.expect_navigation():
                await page.get_by_role("link", name="Down targets").click()
            rows = page.locator("main table tbody tr")
            assert await rows.count() == 3
            shown = await page.locator("main table tbody td.url").all_inner_texts()
            assert sorted(shown) == sorted(item["url"] for item in down["items"])
            assert all("down" in t for t in await rows.all_inner_texts())
            await seen("down-targets")

            # a filter narrows them (keyboard: type, then Enter submits the form)
            await page.get_by_label("URL contains").fill("gone/2")
            async with page.expect_navigation():
                await page.get_by_label("URL contains").press("Enter")
            assert await rows.count() == 1
            assert (await page.locator("main table tbody td.url").inner_text()).endswith("/gone/2")
            assert "q=gone%2F2" in page.url and "state=down" in page.url

            # a target's page shows its timeline
            async with page.expect_navigation():
                await page.locator("main table tbody td.url a").click()
            assert (await page.locator("h1").inner_text()).startswith("Target ")
            timeline = await page.locator("ol.timeline li").all_inner_texts()
            assert any("down" in line for line in timeline), timeline
            assert await page.locator("svg.chart").count() == 1
            await seen("target")

            # the crafted URL and title are text, not markup
            hostile = next(i for i in down["items"] if "script" in i["url"])
            assert hostile["provider"] == HOSTILE_PROVIDER
            await page.goto(f"{base}/targets/{hostile['id']}")
            assert await page.locator("p.url").inner_text() == hostile["url"]
            link = page.locator("p.url a")
            assert await link.get_attribute("rel") == "noopener noreferrer"
            async with page.expect_navigation():
                await page.locator("main table a").first.click()
            assert await page.locator("h1").inner_text() == HOSTILE_TITLE
            await seen("article")
            assert await page.evaluate("document.querySelectorAll('script, img').length") == 0

            # the hostile provider, from the overview's worst providers, filters as text
            await page.goto(base + "/")
            async with page.expect_navigation():
                await page.get_by_role("link", name=HOSTILE_PROVIDER).click()
            assert await page.get_by_label("Provider").input_value() == HOSTILE_PROVIDER
            assert await page.locator("main table tbody td.url").all_inner_texts() == [
                hostile["url"]
            ]

            # a bad filter is a page that names the parameter
            await page.goto(base + "/targets?state=sideways")
            assert "state" in await page.locator("[role=alert]").inner_text()
            served = await context.request.get(page.url)
            assert served.status == 400
            keep(await served.text(), "error")
            names = [p.stem for p in served_pages]
            assert names == ["overview", "down-targets", "target", "article", "error"], names
            _validate_html(served_pages)
            visited["error"] = page.url  # axe checks it too (no screenshot)
            problems[:] = [p for p in problems if "400" not in p]  # the expected 400 itself

            assert dialogs == []
            assert problems == []
            assert outside == []

            # accessibility, in a context that lets axe's script in (the pages' CSP would not)
            axe_context = await browser.new_context(bypass_csp=True)
            await axe_context.route("**/*", only_loopback)
            checker = await axe_context.new_page()
            for name, url in visited.items():
                await checker.goto(url)
                await _axe(checker, name)
            visited.pop("error")
            if shots:
                phone = await browser.new_context(
                    viewport={"width": 390, "height": 844}, device_scale_factor=1
                )
                await phone.route("**/*", only_loopback)
                small = await phone.new_page()
                for name, url in visited.items():
                    await small.goto(url)
                    await small.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
            assert outside == []
        finally:
            await browser.close()


def test_a_person_finds_what_is_down(
    daemon: tuple[DaemonProcess, dict[str, Any]], tmp_path: Path
) -> None:
    proc, down = daemon
    assert proc.metrics_url
    asyncio.run(_drive(proc.metrics_url, down, tmp_path))
