"""What `check` of unsigned English pages leaves unbuilt (issue 16: the start
every process pays before its first request).

A fresh interpreter runs `check` of one record against a loopback page, as a
user does, and reports at exit what was imported and compiled: the signature
verifier's envelope and canonical modules (rfc8785's import among them) wait
for a signed record checked against a key, and the CJK-script and soft-404
phrase patterns for a title that needs them. Each cost ~15-31 M instructions
of every start when built at import (bench/README.md, the twentieth session);
the judgements they serve are tested where they are made (test_fingerprint*,
test_html_head, test_signature). Likewise html.parser's reading of a head
(head_parser.py, ~9 M) waits for a head the scanner gives up on, and the
scanner's general-path token and the escaped-header-byte pattern (3.2 and
2.5 M, the largest of those compiled at first use in the twenty-first
session) for a page or header that needs them.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

STORY = "/2020/04/16/clearview-source-code-lapse/"
TITLE = "Security lapse exposed Clearview AI source code"
PAGE = (
    f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{TITLE} | TechCrunch"
    f"</title></head><body><h1>{TITLE}</h1><p>text</p></body></html>"
).encode()

# Runs the CLI as the console script does, then writes what the process built.
SCRIPT = r"""
import atexit, json, sys

FACTS = sys.argv.pop(1)

def built(module, getter):
    # compiled at import where there is no getter (as before issue 16's cut)
    pattern = getattr(module, getter, None)
    return pattern is None or pattern.cache_info().currsize > 0

def facts():
    from monitor.content import fingerprint, head_scan, soft404
    from monitor.http import headers
    out = {
        "modules": sorted(
            m for m in ("rfc8785", "monitor.secured.signed", "monitor.secured.envelopes",
                        "monitor.secured.canonical", "html.parser",
                        "monitor.content.head_parser") if m in sys.modules
        ),
        "soft_404_phrases_built": built(soft404, "_patterns"),
        "cjk_pattern_built": built(fingerprint, "_unspaced"),
        "head_token_built": built(head_scan, "_token"),
        "escaped_header_built": built(headers, "_escaped"),
    }
    with open(FACTS, "w") as f:
        json.dump(out, f)

atexit.register(facts)
from monitor.cli import main
sys.argv[0] = "article-monitor"
main()
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != STORY:  # the soft-404 probe's made-up path
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_check_of_an_unsigned_english_page_builds_no_verifier_and_no_unused_pattern(
    port: int, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    record = {
        "webUrl": f"http://news.example{STORY}",
        "title": TITLE,
        "publishedDateTime": "2020-04-16T12:00:00Z",
        "provider": {"name": "News", "domain": "news.example"},
    }
    corpus.write_text(json.dumps(record) + "\n")
    facts, report = tmp_path / "facts.json", tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    check = ["check", str(corpus), "--format", "json", "-o", str(report)]
    check += ["--allow-network", "127.0.0.0/8", "--retries", "0"]
    check += ["--connect-to", f"news.example:80:127.0.0.1:{port}"]
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(facts), *check],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr + report.read_text()
    (article,) = json.loads(report.read_text())["articles"]
    (target,) = article["targets"]
    assert (target["outcome"], target["problems"]) == ("ok", [])
    assert article["signature"]["status"] == "missing"
    assert json.loads(facts.read_text()) == {
        "modules": [],
        "soft_404_phrases_built": False,
        "cjk_pattern_built": False,
        "head_token_built": False,
        "escaped_header_built": False,
    }
