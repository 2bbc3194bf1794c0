"""A key that arrives twice through YAML merge keys (`<<: *base`) is a duplicate.

Readers disagree on which copy wins: PyYAML lets the last source of
`<<: [*a, *b]` win, the merge-key spec says the first, and YAML 1.2 readers
keep a plain key named `<<`. For a signature checker that is the duplicate-key
hole of issue 10 item 9 again (found by the second hostile review): `check`,
`verify` and `sign` must all call such a document invalid, naming the key.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, aes_key, offline_report

# every case: a document whose webUrl one reader or another takes from a different copy
CASES = {
    "two_sources.yaml": (
        'a: &a {webUrl: "https://news.test/first"}\n'
        'b: &b {webUrl: "https://news.test/second"}\n'
        "<<: [*a, *b]\n"
    ),
    "explicit_then_merge.yaml": (
        'base: &b\n  webUrl: "https://news.test/evil"\nwebUrl: "https://news.test/good"\n<<: *b\n'
    ),
    "merge_then_explicit.txt": (
        '---\nbase: &b\n  webUrl: "https://news.test/evil"\n<<: *b\n'
        'webUrl: "https://news.test/good"\n---\n'
    ),
    "nested_merge.yaml": (
        'inner: &i {webUrl: "https://news.test/deep"}\n'
        "outer: &o {<<: *i, title: t}\n"
        'webUrl: "https://news.test/top"\n<<: *o\n'
    ),
}
# a merge that repeats nothing stays a valid document
FINE = 'base: &b {title: shared}\nwebUrl: "https://news.test/fine"\n<<: *b\n'


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in CASES.items():
        (root / name).write_text(text)
    (root / "fine.yaml").write_text(FINE)
    return root


def test_check_calls_a_key_merged_twice_a_duplicate(corpus: Path) -> None:
    report = offline_report(corpus)
    invalid = {Path(d["source"]).name: d["error"] for d in report["invalid_documents"]}
    assert set(invalid) == set(CASES), invalid
    for name, error in invalid.items():
        assert "duplicate key 'webUrl'" in error, (name, error)
    assert [a["webUrl"] for a in report["articles"]] == ["https://news.test/fine"]


@pytest.mark.parametrize("command", ["verify", "sign"])
def test_verify_and_sign_refuse_it_too(corpus: Path, tmp_path: Path, command: str) -> None:
    key = aes_key(tmp_path / "k.key")
    done = subprocess.run(
        [CLI, command, str(corpus / "two_sources.yaml"), "--key-file", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "duplicate key 'webUrl'" in done.stdout + done.stderr
    assert "news.test/second" not in done.stdout
