"""`check` writes the same report whether its articles and invalid documents
waited in memory or on disk (monitor/check/entry_store.py, invalid_spill.py):
every format, offline and against a loopback server, on a corpus with
duplicates, invalid documents, signatures and related articles. Only the
timings (elapsed, latency) may differ between two runs; they are blanked."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.images import png
from support.pages import page

from monitor.check import entry_store, invalid_spill
from monitor.check.spill import Spill
from monitor.cli import cli

FORMATS = ("json", "junit", "markdown", "table")
TIMINGS = [
    (re.compile(r'"(elapsed_s|latency_ms)": ?[0-9.e+-]+'), r'"\1": 0'),
    (re.compile(r'time="[0-9.]+"'), 'time="0"'),
    (re.compile(r" in [0-9.]+s\b"), " in 0s"),
]


def record(n: int) -> dict[str, object]:
    web = f"http://news.test/news/{n % 23}"  # 23 and up: webUrl duplicates
    rec: dict[str, object] = {
        "webUrl": web,
        "ampWebUrl": f"http://news.test/amp/{n % 7 if n % 5 == 0 else n}",  # shared AMP pages
        "title": f"Story {n}",
        "excerpt": "What happened",
        "publishedDateTime": "2026-01-01T10:00:00Z",
        "provider": {"name": "News", "domain": "news.test" if n % 4 else "other.test"},
        "images": [{"url": f"http://news.test/img/{n}.png", "width": 4, "height": 3 + n % 2}],
    }
    if n % 3 == 0:
        rec["cdnAmpWebUrl"] = f"http://news-test.cdn.ampproject.org/c/news.test/amp/{n}"
    if n % 2 == 0:
        rec["related"] = [
            {"webUrl": f"http://news.test/news/{n + 1}", "title": "Next"},
            {"webUrl": f"http://other.test/story/{n}", "images": [{"url": "ftp://x/i.png"}]},
        ]
    return rec


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    lines = []
    for n in range(60):
        lines.append(json.dumps(record(n)))
        if n % 9 == 4:
            lines.append(f"not json {n}")
    (root / "a.jsonl").write_text("\n".join(lines) + "\n")
    key = tmp_path / "key"
    key.write_text("11" * 32)
    key.chmod(0o600)
    signed = root / "signed"
    signed.mkdir()
    for n in range(3):
        web = f"http://news.test/news/{100 + n}"
        (signed / f"{n}.txt").write_text(
            f'---\nwebUrl: "{web}"\ntitle: "Signed {n}"\nprovider:\n  domain: news.test\n'
            f'secured: ""\n---\n'
        )
    done = CliRunner().invoke(cli, ["sign", str(signed), "--in-place", "--key-file", str(key)])
    assert done.exit_code == 0, done.output
    tampered = signed / "2.txt"
    tampered.write_text(tampered.read_text().replace("Signed 2", "Changed"))
    return root


def _respond(path: str) -> tuple[int, str, bytes]:
    if m := re.fullmatch(r"/news/(\d+)", path):
        html = page(amphtml=f"http://news.test/amp/{m[1]}", title=f"Story {m[1]}")
        return 200, "text/html", html.encode()
    if m := re.fullmatch(r"/amp/(\d+)", path):
        html = page(amp=True, canonical=f"http://news.test/news/{m[1]}", title=f"Story {m[1]}")
        return 200, "text/html", html.encode()
    if m := re.fullmatch(r"/img/(\d+)\.png", path):
        return 200, "image/png", png(4, 3)
    return 404, "text/html", page(title="Not found").encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, body = _respond(self.path.partition("?")[0])
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def reports(corpus: Path, tmp_path: Path, *args: str) -> dict[str, str]:
    """Each format's report of `check corpus args`, timings blanked."""
    out = {}
    for fmt in FORMATS:
        argv = ["check", str(corpus), "--format", fmt, "--key-file", str(tmp_path / "key"), *args]
        done = CliRunner().invoke(cli, argv, env={"ARTICLE_MONITOR_CONFIG": ""})
        assert done.exit_code == 1, (done.exit_code, done.output)
        text = done.stdout
        for pattern, blank in TIMINGS:
            text = pattern.sub(blank, text)
        out[fmt] = text
    return out


@pytest.fixture
def spills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Chunks written to disk from now on (the stores' sizes untouched)."""
    written: list[int] = []
    original = Spill._spill

    def counted(self: Spill[object]) -> None:
        written.append(len(self._tail))
        original(self)

    monkeypatch.setattr(Spill, "_spill", counted)
    return written


def lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep two articles and one invalid document in memory; the rest in small chunks."""
    monkeypatch.setattr(entry_store, "SIZES", replace(entry_store.SIZES, kept=2, chunk=3))
    monkeypatch.setattr(invalid_spill, "SIZES", replace(invalid_spill.SIZES, kept=1, chunk=2))


def test_offline_reports_are_the_same_from_disk(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spills: list[int]
) -> None:
    in_memory = reports(corpus, tmp_path, "--offline")
    assert spills == []
    report = json.loads(in_memory["json"])
    codes = {p["code"] for a in report["articles"] for p in a["problems"]}
    assert {"duplicate_url", "signature_invalid", "provider_domain_mismatch"} <= codes
    assert len(report["articles"]) == 63 and len(report["invalid_documents"]) == 7
    lowered(monkeypatch)
    on_disk = reports(corpus, tmp_path, "--offline")
    assert len(spills) >= 4 * 20  # articles and invalid documents, in each format's run
    for fmt in FORMATS:
        assert on_disk[fmt] == in_memory[fmt], fmt


def test_networked_reports_are_the_same_from_disk(
    corpus: Path, tmp_path: Path, port: int, monkeypatch: pytest.MonkeyPatch, spills: list[int]
) -> None:
    net = ["--connect-to", f"::127.0.0.1:{port}", "--allow-network", "127.0.0.0/8"]
    net += ["--workers", "1", "--retries", "0", "--timeout", "20"]
    in_memory = reports(corpus, tmp_path, *net)
    assert spills == []
    report = json.loads(in_memory["json"])
    outcomes = report["summary"]["by_outcome"]
    assert outcomes["ok"] > 0 and outcomes["not_found"] > 0 and outcomes["invalid_url"] > 0
    problems = report["summary"]["by_problem"]
    assert problems["duplicate_url"] > 0 and problems["image_dimensions_mismatch"] > 0
    lowered(monkeypatch)
    on_disk = reports(corpus, tmp_path, *net)
    assert len(spills) >= 4 * 20
    for fmt in FORMATS:
        assert on_disk[fmt] == in_memory[fmt], fmt
