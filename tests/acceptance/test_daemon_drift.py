"""The daemon judges content_drift and the soft-404 probe as `check` does (issue 15):
the record's title is stored with its reference and reaches the classifier."""

from __future__ import annotations

import subprocess
from pathlib import Path

from aiohttp import web
from daemon_harness import CLI, PAGE, LinkServer, query, write_config

TITLE = "Security lapse exposed Clearview AI source code"


def record(web_url: str, title: str) -> str:
    return (
        f'---\nwebUrl: "{web_url}"\ntitle: "{title}"\n'
        "provider:\n  name: News\n  domain: news.test\n---\n"
    )


def run_once(config: Path) -> None:
    out = subprocess.run(
        [CLI, "run", "--config", str(config), "--once"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr


def problems(tmp: Path) -> dict[str, str]:
    db = tmp / "data" / "article-monitor.db"
    return {url: codes for url, codes in query(db, "select url, last_problems from targets")}


def test_a_page_that_is_no_longer_the_article_is_drift_in_the_daemon(tmp_path: Path) -> None:
    # LinkServer answers every path with <title>ok</title><h1>Story</h1>
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0)
        corpus = tmp_path / "corpus"
        (corpus / "a.txt").write_text(record("http://news.test/2020/clearview/", TITLE))
        (corpus / "b.txt").write_text(record("http://news.test/2020/story/", "Story"))
        run_once(cfg)
    got = problems(tmp_path)
    assert "content_drift" in got["http://news.test/2020/clearview/"]
    assert "content_drift" not in got["http://news.test/2020/story/"]
    db = tmp_path / "data" / "article-monitor.db"
    assert (TITLE,) in query(db, "select exp_title from article_targets")


def test_the_probe_finds_a_host_that_serves_one_page_for_any_path(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0, soft_404_probe=True)
        corpus = tmp_path / "corpus"
        for i in range(3):
            (corpus / f"{i}.txt").write_text(record(f"http://news.test/2020/s{i}/", "Story"))
        run_once(cfg)
        assert site.hits == 3 + 1  # one probe for the directory, shared by its pages
    got = problems(tmp_path)
    assert all("soft_404" in codes for codes in got.values()), got


def test_a_restart_does_not_probe_again_within_the_day(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, soft_404_probe=True)
        corpus = tmp_path / "corpus"
        for i in range(2):
            (corpus / f"{i}.txt").write_text(record(f"http://news.test/2020/s{i}/", "Story"))
        run_once(cfg)
        assert site.hits == 2 + 1
        run_once(cfg)  # a new process: the answer comes from the database
        assert site.hits == 2 + 1 + 2
    got = problems(tmp_path)
    assert all("soft_404" in codes for codes in got.values()), got
    db = tmp_path / "data" / "article-monitor.db"
    ((site_key, directory, status),) = query(
        db, "select site, directory, status from probe_answers"
    )
    assert (site_key, directory, status) == ("http news.test 80", "/2020", 200)


class NotFoundProbes(LinkServer):
    """Pages answer; a path that cannot exist is a real 404."""

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if "am-probe-" in request.path:
            return web.Response(status=404, text="not found")
        return web.Response(text=PAGE, content_type="text/html")


def test_a_host_that_answered_a_real_404_is_not_probed_after_a_restart(tmp_path: Path) -> None:
    with NotFoundProbes() as site:
        cfg = write_config(tmp_path, site.port, soft_404_probe=True)
        corpus = tmp_path / "corpus"
        (corpus / "a.txt").write_text(record("http://news.test/2020/s/", "Story"))
        (corpus / "b.txt").write_text(record("http://news.test/2021/t/", "Story"))
        run_once(cfg)
        first = site.hits
        assert first == 2 + 1  # one probe: the host's 404 spares the other directory
        (corpus / "c.txt").write_text(record("http://news.test/2022/u/", "Story"))
        run_once(cfg)  # a new directory, a new process: still no probe
        assert site.hits == first + 3
    assert all("soft_404" not in codes for codes in problems(tmp_path).values())
