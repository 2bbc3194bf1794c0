"""`check` imports only what its run uses (issue 16: start-up is a third of a
5,000-URL run's CPU). The modules below cost ~50 ms together and a JSON
report of a JSON Lines corpus needs none of them; each is still imported,
and works, when it is needed (the format tests, the front-matter tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN_AND_LIST = """
import json, runpy, sys
sys.argv = ["article-monitor", *sys.argv[1:]]
try:
    runpy.run_module("monitor", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""

# not for a JSON report of a JSON Lines corpus, with no key and no terminal
UNNEEDED = (
    "yaml",  # front matter only (and timestamps of signed claims)
    "rich",  # the table and markdown writers, a terminal's progress bar
    "xml.sax.saxutils",  # the junit writer
    "monitor.check.report.junit",
    "monitor.check.report.markdown",
    "monitor.check.report.table",
    "monitor.corpus.frontmatter",
    "pydantic_settings",  # the settings' layers are read by monitor.config_sources (~55 ms)
    "cryptography",  # keys and signed records only (~20 ms)
)


def _modules_of_check(tmp_path: Path, corpus: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, "check", str(corpus), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


@pytest.fixture
def jsonl_corpus(tmp_path: Path) -> Path:
    record = {
        "webUrl": "https://www.example.com/news/a.html",
        "title": "A",
        "provider": {"name": "Example", "domain": "example.com"},
    }
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def test_a_json_report_of_json_lines_imports_no_other_format(
    tmp_path: Path, jsonl_corpus: Path
) -> None:
    out = tmp_path / "report.json"
    modules = _modules_of_check(
        tmp_path, jsonl_corpus, "--offline", "--format", "json", "-o", str(out)
    )
    assert json.loads(out.read_text())["summary"]["articles"] == 1
    loaded = sorted(m for m in UNNEEDED if m in modules)
    assert loaded == []


def test_the_writer_asked_for_is_the_one_imported(tmp_path: Path, jsonl_corpus: Path) -> None:
    out = tmp_path / "report.xml"
    modules = _modules_of_check(
        tmp_path, jsonl_corpus, "--offline", "--format", "junit", "-o", str(out)
    )
    assert out.read_text().startswith("<?xml")
    assert "monitor.check.report.junit" in modules
    assert "monitor.check.report.table" not in modules
