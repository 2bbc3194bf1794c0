"""A string field that is not text: a NUL (`"\\u0000"`, `"\\0"`) or a lone UTF-16
surrogate (`"\\ud800"`, valid JSON that buggy serialisers emit for a cut emoji).

Found by the second hostile review: such a document passed every check, then
`check --format json` and `--format junit` died with exit 70 (no report at
all), and the daemon's rescan could not write the corpus (SQLite cannot encode
a surrogate, PostgreSQL refuses NUL), so `run` stopped, and a long-running
daemon recorded none of the other documents. It is an invalid document, named
with its field, and the rest of the corpus is checked and recorded.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, LinkServer, write_config
from support.pg import PG_URL

BAD = {
    "surrogate.json": '{"webUrl": "http://news.test/s", "title": "cut \\ud83d"}\n',
    "nul.jsonl": (
        '{"webUrl": "http://news.test/n1", "title": "t"}\n'
        '{"webUrl": "http://news.test/n2", "images": [{"url": "ftp://x/\\u0000", '
        '"width": 1, "height": 1}]}\n'
    ),
    "key.json": '{"webUrl": "http://news.test/k", "\\udc80": 1}\n',
    "nul.yaml": 'webUrl: "http://news.test/y"\ntitle: "a\\0b"\n',
}
FIELDS = {
    "surrogate.json": "field title holds a lone UTF-16 surrogate",
    "nul.jsonl": "field images.0.url holds a NUL character",
    "key.json": "a field name holds a lone UTF-16 surrogate",
    "nul.yaml": "field title holds a NUL character",
}
GOOD = {"http://news.test/good", "http://news.test/n1"}


def corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in BAD.items():
        (root / name).write_text(text)
    (root / "good.txt").write_text('---\nwebUrl: "http://news.test/good"\ntitle: t\n---\n')
    return root


def test_check_names_the_field_and_every_report_is_written(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    for fmt in ("json", "junit"):
        done = subprocess.run(
            [CLI, "check", str(root), "--offline", "--format", fmt],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and "Error" not in done.stderr
        if fmt == "junit":
            ET.fromstring(done.stdout)
            continue
        report = json.loads(done.stdout)
        invalid = {Path(d["source"]).name: d["error"] for d in report["invalid_documents"]}
        assert set(invalid) == set(FIELDS), invalid
        for name, fragment in FIELDS.items():
            assert fragment in invalid[name], invalid[name]
        assert {a["webUrl"] for a in report["articles"]} == GOOD


def _run_once(tmp_path: Path, *extra: str, **config: Any) -> subprocess.CompletedProcess[str]:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, **config)
        corpus(tmp_path / "corpus")
        return subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once", *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_the_daemon_records_the_rest_of_the_corpus(tmp_path: Path) -> None:
    done = _run_once(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "could not be recorded" not in done.stderr
    with sqlite3.connect(tmp_path / "data" / "article-monitor.db") as db:
        urls = {row[0] for row in db.execute("SELECT url FROM targets")}
    assert urls == GOOD


@pytest.mark.skipif(not PG_URL, reason="ARTICLE_MONITOR_TEST_PG_URL not set")
def test_the_daemon_on_postgresql_records_the_rest_too(tmp_path: Path) -> None:
    from sqlalchemy import text

    from monitor.storage.engine import make_engine

    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        upgrade = subprocess.run(
            [CLI, "db", "upgrade", "--db", url], capture_output=True, text=True, timeout=60
        )
        assert upgrade.returncode == 0, upgrade.stderr
        # a start on PostgreSQL claims after its second heartbeat: 0.3 s, not 2 s
        done = _run_once(tmp_path, "--db", url, cluster_heartbeat=0.3)
        assert done.returncode == 0, done.stderr
        assert "could not be recorded" not in done.stderr
        engine = make_engine(url)
        with engine.connect() as conn:
            urls = {row[0] for row in conn.execute(text("SELECT url FROM targets"))}
        engine.dispose()
        assert urls == GOOD
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
