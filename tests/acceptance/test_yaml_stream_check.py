"""`check` and the daemon's rescan read every document of a multi-document `.yaml`
file (they dropped all but the first without a word), and report a broken one
with its file and line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, offline_report

STREAM = (
    "---\n"
    'webUrl: "https://news.test/one"\n'
    "---\n"
    'webUrl: "https://news.test/two"\n'
    "title: Breaking: news\n"
    "---\n"
    'webUrl: "https://news.test/three"\n'
)
FRONT_MATTER = '---\nwebUrl: "https://news.test/four"\n---\nwebUrl: "https://news.test/body"\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "stream.yaml").write_text(STREAM)
    (root / "page.md").write_text(FRONT_MATTER)
    return root


def test_check_reports_every_document_of_a_yaml_stream(corpus: Path) -> None:
    report = offline_report(corpus)
    assert sorted(a["webUrl"] for a in report["articles"]) == [
        "https://news.test/four",
        "https://news.test/one",
        "https://news.test/three",
    ]
    (bad,) = report["invalid_documents"]
    assert bad["source"].endswith("stream.yaml")
    assert bad["line"] == 5
    assert "quote values" in bad["error"]
    assert report["summary"]["articles"] == 3


def test_the_daemon_scan_stores_every_document(
    scanner: object, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import select

    from monitor.daemon.scan import CorpusScanner
    from monitor.storage.repository import ARTICLES

    assert isinstance(scanner, CorpusScanner)
    scanner.scan()
    with scanner.repo.engine.connect() as conn:
        rows = sorted(conn.execute(select(ARTICLES.c.source, ARTICLES.c.web_url)).all())
    assert [(Path(s).name, u) for s, u in rows] == [
        ("page.md", "https://news.test/four"),
        ("stream.yaml", "https://news.test/one"),
        ("stream.yaml", "https://news.test/three"),
    ]
    assert scanner.repo.snapshot().invalid_documents == 1
    assert f"invalid document {corpus / 'stream.yaml'}:5: invalid YAML" in caplog.text


def test_sign_in_place_signs_every_document_of_a_yaml_stream(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    made = subprocess.run(
        [CLI, "keygen", "--type", "aes256", "--out", str(key)], capture_output=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    fenced = tmp_path / "fenced.yaml"
    fenced.write_text(
        '---\nwebUrl: "https://news.test/one"\n---\nwebUrl: "https://news.test/two"\n'
        "title: t\n---\n"
    )
    bare = tmp_path / "bare.yml"
    bare.write_text(
        '# corpus\nwebUrl: "https://news.test/three"\nsecured: old\n...\n'
        '---\nwebUrl: "https://news.test/four"\n'
    )
    signed = subprocess.run(
        [CLI, "sign", str(fenced), str(bare), "--in-place", "--key-file", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert signed.returncode == 0, signed.stderr
    assert "fenced.yaml: signed 2 article(s)" in signed.stderr
    assert "bare.yml: signed 2 article(s)" in signed.stderr
    assert fenced.read_text().count("secured: ") == 2
    assert bare.read_text().count("secured: ") == 2 and "secured: old" not in bare.read_text()
    checked = subprocess.run(
        [CLI, "verify", str(fenced), str(bare), "--key-file", str(key), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert [a["signature"]["status"] for a in report["articles"]] == ["valid"] * 4
