"""Credentials in the URLs a page's head or a record names never appear in the
words of `canonical_mismatch` and `amphtml_link_mismatch`, and those words
quote at most 200 characters of a URL, as every other finding's do
(tests/acceptance/test_check_messages_redacted.py, offline findings). Both
messages quoted the expected and the found URL raw: `user:password@`, a
`?token=` and a page's 5,000-character canonical went into the report (and
the daemon's database, which stores the same findings). Loopback only."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from support.servers import threaded_app

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "monitor"]
SECRETS = ("s3cret", "hunter2", "tok1", "pw8", "sig1", "pw9", "tok2")
LONG = "/" + "x" * 5000
HEADS = {
    # the web page names another AMP page, with credentials of its own
    "/story": '<link rel="amphtml" href="http://bob:hunter2@news.example/elsewhere/amp?token=tok1">',
    # the AMP page's canonical points elsewhere, with credentials
    "/story/amp": '<link rel="canonical" href="http://eve:pw8@news.example/other?sig=sig1">',
    "/long": f'<link rel="amphtml" href="http://news.example{LONG}">',
}


async def _handle(request: web.Request) -> web.Response:
    marker = " amp" if request.path.endswith("/amp") else ""
    head = HEADS.get(request.path, "")
    text = (
        f"<!doctype html><html{marker}><head><meta charset=utf-8><title>A story</title>"
        f"{head}</head><body><h1>A story</h1></body></html>"
    )
    return web.Response(text=text, content_type="text/html")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with threaded_app(_handle, "GET") as bound:
        yield bound


def test_link_mismatch_messages_hide_credentials_and_stay_short(port: int, tmp_path: Path) -> None:
    records = [
        {
            "webUrl": "http://user:s3cret@news.example/story",
            "ampWebUrl": "http://amp:pw9@news.example/story/amp?token=tok2",
            "title": "A story",
        },
        {"webUrl": "http://news.example/long", "ampWebUrl": "http://news.example/long/amp"},
        # a deep directory: the soft_404 probe's path in it is as long
        {"webUrl": f"http://news.example{LONG}/story", "title": "A story"},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = subprocess.run(
        [
            *CLI,
            "check",
            str(corpus),
            "--format",
            "json",
            "--kinds",
            "web,amp",
            "--connect-to",
            f"::127.0.0.1:{port}",
            "--allow-network",
            "127.0.0.0/8",
            "--retries",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    found = {
        (t["url"], p["code"]): p["message"]
        for a in report["articles"]
        for t in a["targets"]
        for p in t["problems"]
    }
    story = "http://user:s3cret@news.example/story"
    amp = "http://amp:pw9@news.example/story/amp?token=tok2"
    deep = f"http://news.example{LONG}/story"
    messages = [
        found[story, "amphtml_link_mismatch"],
        found[amp, "canonical_mismatch"],
        found["http://news.example/long", "amphtml_link_mismatch"],
        found[deep, "soft_404"],
    ]
    # the host answers any path with the same page: the probe's soft_404 quotes
    # the path it asked, on the credentialed URL's host
    assert found[story, "soft_404"]
    everything = [
        p["message"] for a in report["articles"] for t in a["targets"] for p in t["problems"]
    ]
    for message in everything:
        assert not [s for s in SECRETS if s in message], message
    for message in messages:
        assert len(message) < 600, len(message)
    assert "http://***@news.example/elsewhere/amp?token=***" in messages[0]
    assert "http://***@news.example/other?sig=***" in messages[1]
