"""Hostile corpora as a user meets them, through `check` and the daemon (issue 10):
links that loop or dangle, a FIFO, a device, a name that is not UTF-8, a JSON
Lines file with one binary line, a record with its webUrl given twice, a
folder the daemon cannot list. Nothing hangs, nothing is a traceback, every
bad entry is named, and `check` and the daemon count the same.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from daemon_harness import (
    DaemonProcess,
    LinkServer,
    metric,
    offline_report,
    wait_for,
    write_config,
)
from support.fsfaults import PERMISSIONS_IGNORED, hostile_tree

EVIL_AND_GOOD = '{"webUrl": "http://news.test/evil",\n "webUrl": "http://news.test/good"}\n'


def corpus(root: Path) -> Path:
    hostile_tree(root, url=lambda n: f"http://news.test/{n}")
    lines = [json.dumps({"webUrl": f"http://news.test/feed/{i}", "title": "t"}) for i in range(3)]
    (root / "feed.jsonl").write_bytes(
        ("\n".join(lines) + "\n").encode() + b'{"webUrl": "http://news.test/\x00"}\n'
    )
    (root / "twice.json").write_text(EVIL_AND_GOOD)
    return root


ARTICLES = 6  # ok.txt, the non-UTF-8 name, dir.txt/inner.md, three feed lines
INVALID = {
    "dangling.txt": "broken symbolic link",
    "fifo.jsonl": "not a regular file",
    "self.txt": "too many levels of symbolic links",
    "zero.json": "not a regular file",
    "feed.jsonl": "binary data: NUL byte",
    "twice.json": "duplicate key 'webUrl' on line 2",
}


def test_check_names_every_bad_entry_and_exits_1(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    report = offline_report(root)
    assert report["summary"]["articles"] == ARTICLES
    got = {Path(d["source"]).name: d for d in report["invalid_documents"]}
    assert set(got) == set(INVALID)
    for name, fragment in INVALID.items():
        assert fragment in got[name]["error"], got[name]
    assert got["feed.jsonl"]["line"] == 4 and got["twice.json"]["line"] == 2


def test_the_daemon_counts_what_check_counts_and_says_why(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        corpus(tmp_path / "corpus" / "tree")
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()

            def gauges() -> tuple[float | None, float | None]:
                text = daemon.get("/metrics")[1]
                return (
                    metric(text, "article_monitor_articles"),
                    metric(text, "article_monitor_invalid_documents"),
                )

            wait_for(lambda: gauges() == (ARTICLES, len(INVALID)), what=daemon.text)

            def named() -> set[str]:  # the gauges may see the database before the pass ends
                problems = json.loads(daemon.get("/readyz")[1])["corpus"]
                return {Path(p.split(": ", 1)[-1]).name for p in problems}

            unreadable = {"dangling.txt", "fifo.jsonl", "self.txt", "zero.json"}
            wait_for(lambda: named() == unreadable, what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(15) == 0, daemon.text()
        finally:
            daemon.kill()
    text = daemon.text()
    assert "Traceback" not in text and "rescan failed" not in text
    assert "twice.json" in text and "duplicate key 'webUrl'" in text


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="this process reads any folder (root)")
def test_a_folder_the_daemon_cannot_list_keeps_its_documents(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        sub = tmp_path / "corpus" / "sub"
        sub.mkdir()
        for i in range(3):
            (sub / f"{i}.txt").write_text(f'---\nwebUrl: "http://news.test/{i}"\ntitle: "t"\n---\n')
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            articles = lambda: metric(daemon.get("/metrics")[1], "article_monitor_articles")  # noqa: E731
            wait_for(lambda: articles() == 3, what=daemon.text)
            sub.chmod(0)
            try:
                wait_for(
                    lambda: (
                        f"unreadable folder: {sub} (permission denied)"
                        in json.loads(daemon.get("/readyz")[1])["corpus"]
                    ),
                    what=daemon.text,
                )
                invalid = metric(daemon.get("/metrics")[1], "article_monitor_invalid_documents")
                assert invalid == 1 and articles() == 3
            finally:
                sub.chmod(0o755)
            wait_for(lambda: json.loads(daemon.get("/readyz")[1])["corpus"] == [], what=daemon.text)
            assert articles() == 3
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(15) == 0, daemon.text()
        finally:
            daemon.kill()
    assert "is gone" not in daemon.text()
