"""`check … > FILE` onto a file the run reads: the shell has emptied FILE before
the run began, and the Error line says so (the document is gone until restored);
`>>` empties nothing and says nothing of the kind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import aes_key, one_article_corpus, shell_cli
from daemon_harness import refused as harness_refused


def refused(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one `Error:` line (after click's usage lines), no traceback."""
    return harness_refused(out, *needles, first=False)


def test_redirect_onto_the_checked_document_says_the_shell_emptied_it(tmp_path: Path) -> None:
    doc = one_article_corpus(tmp_path) / "a.txt"
    out = shell_cli('"$CLI" check "$DOC" --offline > "$DOC"', DOC=doc)
    err = refused(out, f"stdout ({doc})", "a document to check")
    error = next(line for line in err.splitlines() if line.startswith("Error:"))
    assert f"the shell's `>` has already emptied {doc}" in error
    assert "restore it" in error
    assert doc.read_text() == ""  # what the message warns about: the shell did it


@pytest.mark.parametrize("option", ["--config", "--key-file", "--ca-bundle"])
def test_redirect_onto_a_file_the_run_reads_says_the_shell_emptied_it(
    tmp_path: Path, option: str
) -> None:
    corpus = one_article_corpus(tmp_path)
    given = tmp_path / "input"
    given.write_text("11" * 32 if option == "--key-file" else "retries = 0\n")
    given.chmod(0o600)
    out = shell_cli(
        f'"$CLI" check "$CORPUS" --offline {option} "$GIVEN" > "$GIVEN"',
        CORPUS=corpus,
        GIVEN=given,
    )
    err = refused(out, f"is the {option} file")
    assert f"the shell's `>` has already emptied {given}" in err


def test_redirect_into_the_corpus_folder_says_the_file_was_made_or_emptied(
    tmp_path: Path,
) -> None:
    corpus = one_article_corpus(tmp_path)
    report = corpus / "report.json"
    out = shell_cli('"$CLI" check "$C" --offline > "$R"', C=corpus, R=report)
    err = refused(out, "hidden name")
    assert f"the shell's `>` has already created or emptied {report}" in err


def test_append_redirect_empties_nothing_and_says_nothing_of_it(tmp_path: Path) -> None:
    doc = one_article_corpus(tmp_path) / "a.txt"
    before = doc.read_text()
    err = refused(shell_cli('"$CLI" check "$DOC" --offline >> "$DOC"', DOC=doc), "a document")
    assert "emptied" not in err
    assert doc.read_text() == before


@pytest.mark.parametrize("command", ["verify", "sign"])
def test_verify_and_sign_refuse_a_redirect_onto_their_document(
    tmp_path: Path, command: str
) -> None:
    """`verify a.txt > a.txt` reported the emptied document as invalid (exit 1) and
    wrote its report over it; `sign` said only `empty file`. Both are refused as
    check's is, saying what the shell did."""
    doc = one_article_corpus(tmp_path) / "a.txt"
    key = aes_key(tmp_path / "k.key")
    out = shell_cli(f'"$CLI" {command} "$DOC" --key-file "$KEY" > "$DOC"', DOC=doc, KEY=key)
    err = refused(out, "a document to check")
    assert f"the shell's `>` has already emptied {doc}" in err
    assert doc.read_text() == ""  # the shell's doing; nothing was written over it


@pytest.mark.parametrize("command", ["verify", "sign"])
def test_verify_and_sign_refuse_a_redirect_onto_their_key(tmp_path: Path, command: str) -> None:
    doc = one_article_corpus(tmp_path) / "a.txt"
    key = aes_key(tmp_path / "k.key")
    out = shell_cli(f'"$CLI" {command} "$DOC" --key-file "$KEY" > "$KEY"', DOC=doc, KEY=key)
    err = refused(out, "is the --key-file file")
    assert f"the shell's `>` has already emptied {key}" in err


def test_redirect_onto_the_config_the_environment_names_says_the_shell_emptied_it(
    tmp_path: Path,
) -> None:
    """ARTICLE_MONITOR_CONFIG names the config as --config does (config_path), for
    the guard of `> FILE` as for load_settings."""
    corpus = one_article_corpus(tmp_path)
    config = tmp_path / "m.toml"
    config.write_text("retries = 0\n")
    out = shell_cli(
        '"$CLI" check "$CORPUS" --offline > "$ARTICLE_MONITOR_CONFIG"',
        CORPUS=corpus,
        ARTICLE_MONITOR_CONFIG=config,
    )
    err = refused(out, "is the --config file")
    assert f"the shell's `>` has already emptied {config}" in err
