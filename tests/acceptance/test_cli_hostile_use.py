"""A demanding new user's wrong use of the command line (issue: hostile CLI review).

Each case runs the installed CLI as a user would (a subprocess) and expects
one `Error: …` line and exit 2, never a traceback, and never a report that
reads as complete when the run did not happen.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, article


def cli(
    *args: str | Path, stdout: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    return subprocess.run(
        [CLI, *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def refused(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one `Error:` line on stderr, no traceback; returns stderr."""
    assert out.returncode == 2, out.stderr
    assert "Error:" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr
    return out.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(article("http://news.test/a/"))
    return folder


@pytest.mark.parametrize("bundle", ["missing.pem", "corpus/a.txt"])
def test_a_bad_ca_bundle_writes_no_report(tmp_path: Path, corpus: Path, bundle: str) -> None:
    """Exit 2 means nothing was checked: no report on stdout that reads as a
    complete, healthy run of zero targets, and no report file."""
    out = cli("check", corpus, "--ca-bundle", tmp_path / bundle, "--format", "json")
    refused(out, "ca_bundle")
    assert out.stdout == ""
    report = tmp_path / "report.json"
    out = cli("check", corpus, "--ca-bundle", tmp_path / bundle, "-o", report)
    refused(out, "ca_bundle")
    assert not report.exists()
