"""`> FILE` (or `-o FILE`) onto a document of a scanned folder under another
name: a hard link to it outside the folder (the shell emptied the document and
the report went into it, exit 1), or a symbolic link inside the folder to FILE
(the run read its own empty report as an invalid document: exit 1 every run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from daemon_harness import aes_key, one_article_corpus, shell_cli
from daemon_harness import refused as harness_refused


@pytest.mark.parametrize("command", ["check", "verify", "sign"])
def test_redirect_onto_a_hard_link_of_a_document_is_refused(tmp_path: Path, command: str) -> None:
    corpus = one_article_corpus(tmp_path)
    link = tmp_path / "report.txt"
    os.link(corpus / "a.txt", link)
    extra = "--offline" if command == "check" else ""
    if command == "sign":
        key = aes_key(tmp_path / "k.key")
        extra = f"--key-file {key}"
    out = shell_cli(f'"$CLI" {command} "$CORPUS" {extra} > "$LINK"', CORPUS=corpus, LINK=link)
    err = harness_refused(out, "a document to check", "a.txt", first=False)
    assert f"the shell's `>` has already emptied {link}" in err
    assert (corpus / "a.txt").read_text() == ""  # the shell's doing, as the message says


def test_redirect_onto_a_file_a_symlink_in_the_corpus_names_is_refused(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    report = tmp_path / "report.json"
    (corpus / "link.json").symlink_to(report)
    out = shell_cli('"$CLI" check "$CORPUS" --offline > "$REPORT"', CORPUS=corpus, REPORT=report)
    harness_refused(out, "link.json", "a document to check", first=False)
    option = shell_cli('"$CLI" check "$C" --offline -o "$R"', C=corpus, R=report)
    harness_refused(option, f"-o {report}", "link.json", first=False)


def test_a_report_beside_the_corpus_is_still_written(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    report = tmp_path / "report.json"
    out = shell_cli('"$CLI" check "$CORPUS" --offline > "$REPORT"', CORPUS=corpus, REPORT=report)
    assert out.returncode in (0, 1) and "Error" not in out.stderr, out.stderr  # 1: problems
    assert '"articles"' in report.read_text()
