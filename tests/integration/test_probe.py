"""The soft-404 probe against loopback hosts: one request per host and directory,
never again to a host that answered one with a real 404, again after a day."""

from __future__ import annotations

import asyncio

from aiohttp import web
from support.servers import app_server
from support.settings import settings

from monitor.http.engine import Checker
from monitor.vocabulary import Kind, Outcome, ProblemCode

PAGE = "<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


def routes(any_path: bool) -> list[web.RouteDef]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/news/") and "am-probe-" not in request.path:
            title = f"Story {request.path}"
        elif any_path:
            title = "Welcome to the site"
        else:
            raise web.HTTPNotFound()
        return web.Response(text=PAGE.format(title=title), content_type="text/html")

    return [web.get("/{tail:.*}", handle)]


def probes(hits: dict[str, int]) -> dict[str, int]:
    return {p: n for p, n in hits.items() if "am-probe-" in p}


async def test_a_host_that_serves_one_page_for_any_path() -> None:
    async with app_server(routes(any_path=True)) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True)
        async with Checker(s) as checker:
            shell = await checker.check("http://a.example/old/story-1", Kind.WEB)
            story = await checker.check("http://a.example/news/story-2", Kind.WEB)
            again = await checker.check("http://a.example/old/story-3", Kind.WEB)
    assert [p.code for p in shell.problems] == [ProblemCode.SOFT_404]
    assert [p.code for p in again.problems] == [ProblemCode.SOFT_404]
    assert story.problems == []  # its own title: a page, not the host's any-path page
    assert (shell.outcome, shell.attempts) == (Outcome.OK, 1)
    # one probe for /old/ (shared by two pages), one for /news/
    assert sorted(p.split("am-probe-")[0] for p in probes(srv.hits)) == ["/news/", "/old/"]


async def test_concurrent_pages_of_one_directory_share_one_probe() -> None:
    async with app_server(routes(any_path=True)) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True, per_host=8)
        async with Checker(s) as checker:
            results = await asyncio.gather(
                *(checker.check(f"http://a.example/old/s{i}", Kind.WEB) for i in range(8))
            )
    assert all([p.code for p in r.problems] == [ProblemCode.SOFT_404] for r in results)
    assert sum(probes(srv.hits).values()) == 1


async def test_a_host_that_answers_a_probe_with_404_is_never_probed_again() -> None:
    async with app_server(routes(any_path=False)) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True, per_host=8)
        async with Checker(s) as checker:
            results = await asyncio.gather(
                *(checker.check(f"http://a.example/news/d{i}/story", Kind.WEB) for i in range(6))
            )
            assert checker.probe is not None and checker.probe.sent == 1
    assert all(r.problems == [] for r in results)
    assert sum(probes(srv.hits).values()) == 1


async def test_the_answer_is_asked_again_after_its_time() -> None:
    async with app_server(routes(any_path=True)) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True)
        async with Checker(s) as checker:
            assert checker.probe is not None
            now = [0.0]
            checker.probe._clock = lambda: now[0]  # an injected clock: no waiting
            await checker.check("http://a.example/old/story-1", Kind.WEB)
            await checker.check("http://a.example/old/story-1", Kind.WEB)
            assert checker.probe.sent == 1
            now[0] = 86400.0 + 1
            await checker.check("http://a.example/old/story-1", Kind.WEB)
            assert checker.probe.sent == 2


async def test_images_cdn_and_landing_pages_are_not_probed() -> None:
    async with app_server(routes(any_path=True)) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True)
        async with Checker(s) as checker:
            await checker.check("http://a.example/old/story", Kind.CDN)
            await checker.check("http://a.example/", Kind.WEB)
            await checker.check("http://a.example/en/", Kind.AMP)
    assert probes(srv.hits) == {}


async def test_a_probe_that_failed_is_asked_again_within_the_hour() -> None:
    """A host down for a moment (a 503, a reset) gave no answer, and that
    non-answer stood for the day: no soft-404 judgement for the directory until
    then. It now stands for an hour at most; a real answer for the day."""
    failing = [True]

    async def handle(request: web.Request) -> web.StreamResponse:
        if "am-probe-" in request.path and failing[0]:
            raise web.HTTPServiceUnavailable()
        return web.Response(text=PAGE.format(title="Welcome"), content_type="text/html")

    async with app_server([web.get("/{tail:.*}", handle)]) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True)
        async with Checker(s) as checker:
            assert checker.probe is not None
            now = [0.0]
            checker.probe._clock = lambda: now[0]
            first = await checker.check("http://a.example/old/story-1", Kind.WEB)
            failing[0] = False
            now[0] = 3600.0 + 1
            later = await checker.check("http://a.example/old/story-1", Kind.WEB)
            now[0] = 7200.0 + 2
            await checker.check("http://a.example/old/story-1", Kind.WEB)
            sent = checker.probe.sent
    assert first.problems == []
    assert [p.code for p in later.problems] == [ProblemCode.SOFT_404]
    assert sent == 2  # the real answer stands for the day


async def test_a_kept_answer_holds_only_what_the_comparison_reads() -> None:
    """An answer is kept a day per directory (100,000 at most): it held the probe
    page's whole facts, a canonical or amphtml link of up to the page cap among
    them (a hostile host: 400 KB a directory). It keeps the title, heading and
    description (600 characters each at most)."""
    huge = "http://a.example/" + "c" * 400_000

    async def handle(request: web.Request) -> web.StreamResponse:
        body = (
            f"<html><head><title>Welcome</title><link rel=canonical href={huge}>"
            f"<link rel=amphtml href={huge}></head><body><h1>Welcome</h1></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async with app_server([web.get("/{tail:.*}", handle)]) as srv:
        s = settings({"a.example": srv.port}, soft_404_probe=True)
        async with Checker(s) as checker:
            got = await checker.check("http://a.example/old/story-1", Kind.WEB)
            assert checker.probe is not None
            answers = [f.result() for f in checker.probe._answers.values()]
    assert [p.code for p in got.problems] == [ProblemCode.SOFT_404]
    (answer,) = answers
    assert answer is not None and answer.facts.title == "Welcome"
    assert answer.facts.canonical is None and answer.facts.amphtml is None
