"""redirect_to_root whatever the landing page answers (CONTRACT 3: "a deep link
whose redirects end at the site's root or a generic landing page; the outcome
still follows the final status").

A deleted article sent home where the home page answers 404, 500, 503 or 429
is the same finding as one whose home page answers 200: `check` says it beside
the outcome of the final status (the daemon's side is
tests/unit/test_root_redirect_down.py). A chain that did not end (a loop), a
link that was not deep, a redirect to another deep page and an image are not. A
link deep by its query alone (`/?p=123`, `/index.php?id=55`) sent to the root is
one too; one that carries only campaign tags (`/?utm_source=feed`) is not.
Loopback servers only; names reach them through --connect-to.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.report_schema import assert_valid_report
from support.servers import threaded_app

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "monitor"]
PAGE = "<!doctype html><html><head><title>Front page</title></head><body>News</body></html>"
# the status each host's home page answers
HOME_STATUS = {"nf": 404, "gone": 410, "err": 500, "busy": 503, "limited": 429, "fine": 200}
DEEP = "/2020/04/16/deleted-story/"


async def _handle(request: web.Request) -> web.StreamResponse:
    host = request.host.split(":")[0].split(".")[0]
    path = request.path
    if host == "loop":
        raise web.HTTPFound("/" if path != "/" else "/index.html")
    if path == DEEP or path == "/img.png" or request.query_string:
        raise web.HTTPMovedPermanently(f"http://{request.host}/")
    if path == "/2020/other/":
        raise web.HTTPMovedPermanently(f"http://{request.host}/2021/moved-on/")
    status = HOME_STATUS.get(host, 404)
    headers = {"Retry-After": "0"} if status == 429 else {}
    return web.Response(status=status, text=PAGE, content_type="text/html", headers=headers)


@pytest.fixture(scope="module")
def site() -> Iterator[list[str]]:
    """The publishers on a loopback port, served from a thread (the CLI runs in
    a subprocess that the test waits for)."""
    with threaded_app(_handle) as port:
        yield [
            "--connect-to",
            f"::127.0.0.1:{port}",
            "--allow-network",
            "127.0.0.0/8",
            "--timeout",
            "5",
            "--retries",
            "1",
        ]


def _corpus(tmp_path: Path) -> Path:
    records: list[dict[str, Any]] = [
        {"webUrl": f"http://{host}.example{DEEP}", "title": "Front page"} for host in HOME_STATUS
    ]
    records += [
        {"webUrl": f"http://loop.example{DEEP}", "title": "Front page"},
        {"webUrl": "http://nf.example/2020/other/", "title": "Front page"},
        # deep by its query: the path is the root's or an index's
        {"webUrl": "http://fine.example/?p=123", "title": "Front page"},
        {"webUrl": "http://nf.example/index.php?id=55", "title": "Front page"},
        {"webUrl": "http://fine.example/?utm_source=feed", "title": "Front page"},
        {
            "webUrl": "http://nf.example/",
            "title": "Front page",
            "images": [{"url": "http://nf.example/img.png", "width": 1, "height": 1}],
        },
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    return corpus


def _targets(report: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    return {
        t["url"]: (t["outcome"], {p["code"] for p in t["problems"]})
        for a in report["articles"]
        for t in a["targets"]
    }


EXPECTED = {
    f"http://nf.example{DEEP}": ("not_found", {"redirect_to_root"}),
    f"http://gone.example{DEEP}": ("not_found", {"redirect_to_root"}),
    f"http://err.example{DEEP}": ("http_error", {"redirect_to_root"}),
    f"http://busy.example{DEEP}": ("http_error", {"redirect_to_root"}),
    f"http://limited.example{DEEP}": ("rate_limited", {"redirect_to_root"}),
    f"http://fine.example{DEEP}": ("moved", {"redirect_to_root"}),
    f"http://loop.example{DEEP}": ("too_many_redirects", set()),
    "http://nf.example/2020/other/": ("not_found", set()),
    "http://fine.example/?p=123": ("moved", {"redirect_to_root"}),
    "http://nf.example/index.php?id=55": ("not_found", {"redirect_to_root"}),
    "http://fine.example/?utm_source=feed": ("moved", set()),
    "http://nf.example/": ("not_found", set()),
    "http://nf.example/img.png": ("not_found", set()),
}


def test_check_reports_a_root_redirect_beside_a_failing_final_status(
    site: list[str], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [*CLI, "check", str(_corpus(tmp_path)), "--format", "json", *site],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert_valid_report(report)
    assert _targets(report) == EXPECTED
    assert report["summary"]["by_problem"]["redirect_to_root"] == 8


def test_the_switch_still_turns_it_off(site: list[str], tmp_path: Path) -> None:
    config = tmp_path / "off.toml"
    config.write_text("check_redirect_to_root = false\n")
    proc = subprocess.run(
        [*CLI, "check", str(_corpus(tmp_path)), "--format", "json", "--config", str(config), *site],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    report = json.loads(proc.stdout)
    assert {url: got[0] for url, got in _targets(report).items()} == {
        url: want[0] for url, want in EXPECTED.items()
    }
    assert all(not got[1] for got in _targets(report).values()), report
