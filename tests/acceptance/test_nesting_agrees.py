"""`check`, `verify` and `sign` call the same articles too deeply nested, in every format.

Before one bound held for all (monitor/corpus/nesting.py), how deep a record
could nest was Python's recursion limit less each command's stack: a JSON
Lines article nested 975 levels deep was invalid to `check`, signed by
`sign --envelope legacy` with exit 0 and read as an article by `verify`; and
a `.json` element past the decoder's depth ended the file, losing the
articles after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import aes_key
from support.cli import run_cli

from monitor.corpus.nesting import MAX_DEPTH

WEB = "https://a.example.com/"
DEPTHS = [MAX_DEPTH, MAX_DEPTH + 1, 975, 3_000]  # the article's own mapping counted


def _article(i: int, levels: int | None = None) -> str:
    """Article `i` as one line of JSON; with `levels`, nested that deep in all."""
    if levels is None:
        return json.dumps({"webUrl": f"{WEB}{i}"})
    return f'{{"webUrl": "{WEB}{i}", "x": {"[" * (levels - 1)}{"]" * (levels - 1)}}}'


def _corpus(root: Path) -> set[tuple[str, int]]:
    """One file of each format, each with an article at every depth of DEPTHS and one
    after them; the (file, line) of each article too deep."""
    deep: set[tuple[str, int]] = set()
    lines = [_article(0)] + [_article(i, d) for i, d in enumerate(DEPTHS, 1)] + [_article(9)]
    (root / "lines.jsonl").write_text("\n".join(lines) + "\n")
    (root / "list.json").write_text("[\n" + ",\n".join(lines) + "\n]\n")
    for n, d in enumerate(DEPTHS, 1):
        if d > MAX_DEPTH:
            deep |= {("lines.jsonl", n + 1), ("list.json", n + 2)}
    docs = [f"webUrl: {WEB}{i}\nx: {'[' * (d - 1)}{']' * (d - 1)}" for i, d in enumerate(DEPTHS, 1)]
    docs = [doc for doc, d in zip(docs, DEPTHS, strict=True) if d < 1_000]  # YAML's own bound
    (root / "stream.yaml").write_text(
        "".join(f"---\n{doc}\n" for doc in [*docs, f"webUrl: {WEB}9"])
    )
    deep |= {("stream.yaml", 3 * n) for n, d in enumerate(DEPTHS, 1) if MAX_DEPTH < d < 1_000}
    (root / "front.md").write_text(f"---\n{lines[2]}\n---\nbody\n")
    deep.add(("front.md", 2))
    return deep


def _invalid(report: dict[str, Any]) -> set[tuple[str, int]]:
    return {(Path(d["source"]).name, d["line"]) for d in report["invalid_documents"]}


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """An AES key file, written here: `keygen` in a child cost a CLI start, and is
    tested on its own (test_signing_cli.py)."""
    return aes_key(tmp_path / "k.key")


def test_every_command_refuses_the_same_articles(tmp_path: Path, key: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    deep = _corpus(corpus)

    checked = run_cli("check", "corpus", "--offline", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    assert _invalid(report) == deep
    assert all(f"deeper than {MAX_DEPTH} levels" in d["error"] for d in report["invalid_documents"])
    # every article shallow enough was read, the ones after the deep ones too
    read = {a["webUrl"] for a in report["articles"]}
    articles = len(report["articles"])
    assert f"{WEB}9" in read and f"{WEB}1" in read

    signed = run_cli("sign", "corpus", "--key-file", key, "--envelope", "legacy", cwd=tmp_path)
    assert signed.returncode == 1
    rows = [row.split(":", 2) for row in signed.stderr.splitlines() if "invalid document" in row]
    named = {(Path(source).name, int(line)) for source, line, _ in rows}
    assert named == deep
    assert "Traceback" not in signed.stderr

    verified = run_cli("verify", "corpus", "--key-file", key, "--format", "json", cwd=tmp_path)
    assert verified.returncode == 1  # the invalid documents
    assert _invalid(json.loads(verified.stdout)) == deep

    in_place = run_cli("sign", "corpus", "--key-file", key, "--in-place", cwd=tmp_path)
    assert in_place.returncode == 1, in_place.stderr
    assert in_place.stderr.count("invalid document") == len(deep)
    verified = run_cli("verify", "corpus", "--key-file", key, "--format", "json", cwd=tmp_path)
    report = json.loads(verified.stdout)
    assert len(report["invalid_documents"]) == len(deep)  # lines moved: `secured` added
    assert {a["signature"]["status"] for a in report["articles"]} == {"valid"}
    assert len(report["articles"]) == articles
