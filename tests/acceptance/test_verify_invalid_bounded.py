"""`verify` keeps its invalid documents as `check` does (on disk until the
report, monitor/check/invalid_spill.py) and writes its JSON report piece by
piece: every one listed in input order, in bounded memory, and the text
exactly what `json.dumps(report, indent=2)` writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env
from support.child_peak import peak_run
from test_check_invalid_bounded import ERROR, garbage

# soak and scale: `make test-slow` (CI runs it after `make test`), not the README's `make test`
pytestmark = pytest.mark.slow

LINES = 200_000
PEAK_KIB = 100_000  # ~43 MB now; the list and the report's text peaked at ~300 MB


def verify_json(path: Path, *, code: int) -> str:
    """`verify --format json` of `path`: its report, after exit `code` and no traceback."""
    done = subprocess.run(
        [CLI, "verify", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        env=user_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_many_invalid_documents_are_all_listed_in_bounded_memory(tmp_path: Path) -> None:
    source = garbage(tmp_path / "garbage.jsonl", LINES)
    with (tmp_path / "report.json").open("w") as out:
        run = peak_run(
            [CLI, "verify", source, "--format", "json"],
            stdout=out,
            env=user_env(TMPDIR=str(tmp_path)),
            timeout=90,
        )
    assert "Traceback" not in run.err, run.err
    assert run.code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    invalid = report["invalid_documents"]
    assert [d["line"] for d in invalid] == list(range(1, LINES + 1))
    assert {(d["source"], d["error"]) for d in invalid} == {(str(source), ERROR)}
    assert report["summary"]["invalid_documents"] == LINES == report["summary"]["problems"]
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


def test_the_report_is_the_text_json_dumps_writes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = []
    for n in range(18_000):  # 12,000 invalid: past the 10,000 kept in memory
        if n % 3 == 0:
            lines.append(json.dumps({"webUrl": f"https://news.example/{n}", "title": "t"}))
        elif n % 3 == 1:
            lines.append(f'{{"webUrl": "https://news.example/é {n}\\u0007"}}')
        else:
            lines.append("[1, 2]")
    (corpus / "a.jsonl").write_text("\n".join(lines) + "\n")
    (corpus / "empty.json").write_text("")
    for path in (corpus, corpus / "empty.json"):
        out = verify_json(path, code=1)
        report = json.loads(out)
        assert out == json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    assert len(json.loads(out)["invalid_documents"]) == 1


def test_a_report_with_no_invalid_document_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"webUrl": "https://news.example/a", "title": "t"}) + "\n")
    out = verify_json(path, code=0)
    report = json.loads(out)
    assert report["invalid_documents"] == [] and len(report["articles"]) == 1
    assert out == json.dumps(report, indent=2, ensure_ascii=False) + "\n"


VALID = 50_000
VALID_PEAK_KIB = 160_000  # ~58 MB now; each document kept whole, then the text, ~412 MB


def test_many_valid_articles_are_reported_in_bounded_memory(tmp_path: Path) -> None:
    """`verify` kept every document (its record and model, ~8 KB an article) and
    then wrote the articles as one text: 50,000 articles peaked at ~412 MB."""
    source = tmp_path / "many.jsonl"
    with source.open("w") as fh:
        for n in range(VALID):
            record = {"webUrl": f"https://news.example/{n}", "title": "t", "excerpt": "e" * 200}
            fh.write(json.dumps(record) + "\n")
    with (tmp_path / "report.json").open("w") as out:
        run = peak_run(
            [CLI, "verify", source, "--format", "json"], stdout=out, env=user_env(), timeout=90
        )
    assert "Traceback" not in run.err, run.err
    assert run.code == 0
    text = (tmp_path / "report.json").read_text()
    report = json.loads(text)
    assert text == json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    assert [a["line"] for a in report["articles"]] == list(range(1, VALID + 1))
    assert report["summary"] == {
        "articles": VALID,
        "problems": 0,
        "invalid_documents": 0,
        "by_status": {"missing": VALID},
    }
    assert run.peak_kib < VALID_PEAK_KIB, f"peak RSS {run.peak_mib} MiB"
