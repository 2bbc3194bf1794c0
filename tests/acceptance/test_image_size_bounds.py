"""A declared image size the database cannot hold (second hostile review).

`"width": 1e30`-style integers (here 10**30) passed `check`, and the daemon's
rescan then died on `OverflowError: Python int too large to convert to SQLite
INTEGER` (PostgreSQL's INTEGER stops at 2**31-1), so `run --once` stopped and
a long-running daemon recorded none of the corpus, for one document. A size is
a pixel count: 0 to 2**31-1, anything else makes the document invalid, named
with its field, in `check` and in the daemon alike.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from daemon_harness import CLI, LinkServer, offline_report, write_config


def record(name: str, width: int) -> str:
    image = {"url": f"http://news.test/{name}.png", "width": width, "height": 1}
    return json.dumps({"webUrl": f"http://news.test/{name}", "title": "t", "images": [image]})


def corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [record("huge", 10**30), record("big", 2**31), record("negative", -1)]
    lines.append(record("good", 2**31 - 1))
    (root / "sizes.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_check_calls_an_impossible_size_invalid(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    report = offline_report(root)
    errors = {d["line"]: d["error"] for d in report["invalid_documents"]}
    assert set(errors) == {1, 2, 3}, errors
    assert all("field images.0.width" in e for e in errors.values()), errors
    assert [a["webUrl"] for a in report["articles"]] == ["http://news.test/good"]


def test_the_daemon_records_the_rest_of_the_corpus(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, kinds=["web", "image"])
        corpus(tmp_path / "corpus")
        done = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with sqlite3.connect(tmp_path / "data" / "article-monitor.db") as db:
        urls = {row[0] for row in db.execute("SELECT url FROM targets")}
    assert urls == {"http://news.test/good", "http://news.test/good.png"}
