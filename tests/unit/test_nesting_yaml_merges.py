"""Merge keys nested in merge keys are bounded like any nesting, whatever the stack.

`x: {<<: {<<: {… {k: 1}}}}` builds a flat mapping, but the key check
(`yaml_safe._merged_keys`) and PyYAML's own merging recurse once per `<<`, so
the document was refused only once Python's recursion limit less the caller's
stack gave out: 963 merges deep it was invalid to `check --offline` and signed
by `sign` (exit 0), read as an article by `verify` and `run`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.cli import run_cli

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.nesting import MAX_DEPTH

WEB = "https://a.example.com/"


def _merges(n: int, i: int = 0) -> str:
    """An article whose `x` is a chain of n + 1 mappings, each merging the next."""
    return f"webUrl: {WEB}{i}\ntitle: t\nx: " + "{<<: " * n + "{k: 1}" + "}" * n + "\n"


def test_a_chain_within_the_bound_is_one_flat_mapping() -> None:
    (doc,) = parse_text("m.yaml", _merges(MAX_DEPTH - 1), ".yaml")
    assert isinstance(doc, Document), doc
    assert doc.raw["x"] == {"k": 1}


@pytest.mark.parametrize("n", [MAX_DEPTH, 600])
def test_a_chain_past_the_bound_is_refused_on_its_line(n: int) -> None:
    (bad,) = parse_text("m.yaml", _merges(n), ".yaml")
    assert isinstance(bad, InvalidDocument)
    assert f"deeper than {MAX_DEPTH} levels" in bad.error, bad.error
    assert bad.line == 3


def _aliased(n: int, i: int = 0) -> str:
    """An article whose `y` merges the last of n mappings each merging the one before,
    defined in a list that PyYAML builds after `y`: it merges them all at `y`, one
    call a link, however the key check met them."""
    links = ["&b0 {k0: 1}"] + [f"&b{k} {{<<: *b{k - 1}}}" for k in range(1, n)]
    return f"webUrl: {WEB}{i}\nz: [{', '.join(links)}]\ny: {{<<: *b{n - 1}}}\n"


def test_a_chain_of_aliases_within_the_bound_is_read() -> None:
    (doc,) = parse_text("a.yaml", _aliased(MAX_DEPTH - 1), ".yaml")
    assert isinstance(doc, Document), doc
    assert doc.raw["y"] == {"k0": 1}


@pytest.mark.parametrize("n", [MAX_DEPTH, 700])
def test_a_chain_of_aliases_past_the_bound_is_refused(n: int) -> None:
    (bad,) = parse_text("a.yaml", _aliased(n), ".yaml")
    assert isinstance(bad, InvalidDocument)
    assert f"deeper than {MAX_DEPTH} levels" in bad.error, bad.error


def test_every_command_refuses_the_same_chain(tmp_path: Path) -> None:
    """At 970 merges the stack decided: check refused, sign, verify and run did not."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "deep.yaml").write_text(_merges(970, 1))
    (corpus / "ok.yaml").write_text(_merges(3, 2))
    (corpus / "aliased.yaml").write_text(_aliased(970, 3))  # check refused it, sign did not
    key = tmp_path / "k.key"

    def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=tmp_path)

    assert cli("keygen", "--out", key).returncode == 0
    checked = cli("check", corpus, "--offline", "--format", "json")
    report = json.loads(checked.stdout)
    assert sorted(Path(d["source"]).name for d in report["invalid_documents"]) == [
        "aliased.yaml",
        "deep.yaml",
    ]
    verified = cli("verify", corpus, "--key-file", key, "--format", "json")
    report = json.loads(verified.stdout)
    assert sorted(Path(d["source"]).name for d in report["invalid_documents"]) == [
        "aliased.yaml",
        "deep.yaml",
    ]
    signed = cli("sign", corpus, "--key-file", key)
    assert signed.returncode == 1, signed.stderr
    assert "deep.yaml:3: invalid document" in signed.stderr
    assert "aliased.yaml:2: invalid document" in signed.stderr  # the link past the bound
    assert len(signed.stdout.splitlines()) == 1  # ok.yaml's value only
