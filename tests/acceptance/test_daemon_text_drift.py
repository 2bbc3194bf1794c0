"""The daemon's own-drift check (issue 15): a page whose text changed beyond the
tolerance while its title stayed gets a `text_changed` event in its history,
shown by `history` (table and JSON); the first sighting, a routine edit, a
failed load and a new headline are not events."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

from aiohttp import web
from daemon_harness import CLI, LinkServer, query, write_config

URL = "http://news.test/2024/05/clearview-source-code/"
TITLE = "Security lapse exposed Clearview AI source code"
WORDS = (
    "the company said researchers found server misconfigured allowing anyone access "
    "source code secret keys cloud storage apps internal tools facial recognition "
    "database billions photos scraped social media police departments clients "
    "privacy regulators fined investigation lawsuit data breach security firm report"
).split()


def text(seed: int, words: int = 400) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def page(title: str, body: str, *, stamp: str = "Updated 5 minutes ago") -> str:
    return (
        f"<!doctype html><html><head><title>{title} | News</title></head><body>"
        f"<nav><a href=/>Home</a> <a href=/tech>Tech</a></nav><p class=stamp>{stamp}</p>"
        f"<article><h1>{title}</h1><p>{body}</p></article>"
        "<script>var words = 'script text is never read by anyone';</script></body></html>"
    )


class PageServer(LinkServer):
    """Every path answers `self.html` with `self.status`."""

    def __init__(self) -> None:
        super().__init__()
        self.html = page(TITLE, text(1))

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=self.status, text=self.html, content_type="text/html")


def run_once(config: Path) -> None:
    out = subprocess.run(
        [CLI, "run", "--config", str(config), "--once"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr


def history(config: Path, *fmt: str) -> str:
    out = subprocess.run(
        [CLI, "history", URL, "--config", str(config), *fmt],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def events(config: Path) -> list[dict[str, str]]:
    data = json.loads(history(config, "--format", "json"))
    (target,) = data["targets"]
    found: list[dict[str, str]] = target["events"]
    return found


def test_a_page_rewritten_under_its_title_is_an_event_in_its_history(tmp_path: Path) -> None:
    db = tmp_path / "data" / "article-monitor.db"
    with PageServer() as site:
        cfg = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(f'---\nwebUrl: "{URL}"\ntitle: "{TITLE}"\n---\n')
        run_once(cfg)  # first sighting: a mark, no event
        assert len(query(db, "select text_hash from page_marks")) == 1
        assert events(cfg) == []

        site.html = page(TITLE, text(1), stamp="Updated 1 hour ago")  # routine edit
        run_once(cfg)
        assert events(cfg) == []

        site.status = 500  # a page that failed to load is never "changed"
        site.html = "<html><head><title>Error</title></head><body>" + text(9) + "</body></html>"
        (mark,) = query(db, "select text_hash, seen_at from page_marks")
        run_once(cfg)
        assert query(db, "select text_hash, seen_at from page_marks") == [mark]
        assert events(cfg) == []

        site.status = 200
        site.html = page(TITLE, text(2))  # the same headline over another text
        run_once(cfg)
        (event,) = events(cfg)
        assert event["kind"] == "text_changed"
        assert "title stayed" in event["detail"]

        site.html = page("A different headline altogether", text(3))  # a new title
        run_once(cfg)
        assert len(events(cfg)) == 1
        assert site.hits == 5
    table = history(cfg, "--format", "table")
    assert "Events" in table and "text_changed" in table


def test_the_own_drift_check_can_be_switched_off(tmp_path: Path) -> None:
    db = tmp_path / "data" / "article-monitor.db"
    with PageServer() as site:
        cfg = write_config(tmp_path, site.port, text_drift=False)
        (tmp_path / "corpus" / "a.txt").write_text(f'---\nwebUrl: "{URL}"\ntitle: "{TITLE}"\n---\n')
        run_once(cfg)
        site.html = page(TITLE, text(2))
        run_once(cfg)
    assert query(db, "select count(*) from page_marks") == [(0,)]
    assert events(cfg) == []
