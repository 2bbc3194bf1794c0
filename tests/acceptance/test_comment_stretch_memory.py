"""A long stretch of `#` lines costs `check` and `sign --in-place` no memory a line.

The patterns that read such a stretch repeated a line, and the regex engine kept
~250-550 bytes of state for each: on Python 3.11.0-3.11.4 (Debian 12's 3.11.2, which
CI and the Debian deployments run), where that repeat could not be possessive
(gh-106052), an 8 MB file of `#` lines took 1.8 GB to check and 2 MB of them in a
front matter 283 MB to sign. The bounds below are the peak resident memory of the
command's process, several times what it needs now, far under what it took then.
"""

from __future__ import annotations

import json
from pathlib import Path

from daemon_harness import CLI
from support.child_peak import peak_run

_BOUND_MB = 200


def test_check_reads_long_comment_stretches_in_little_memory(tmp_path: Path) -> None:
    stretch = "#\n" * 2_000_000  # 4 MB: 2,000,000 lines
    corpus = tmp_path / "stretch.yaml"
    corpus.write_text(f"{stretch}...\n---\n{stretch}- a list\n")
    run = peak_run([CLI, "check", corpus, "--offline", "--format", "json"])
    assert run.code == 1 and "Traceback" not in run.err, run.err
    peak = run.peak_mib
    found = [(d["line"], d["error"]) for d in json.loads(run.out)["invalid_documents"]]
    assert found == [(4_000_003, "YAML document is a list: expected a mapping of article fields")]
    assert peak < _BOUND_MB, f"{peak} MB"


def test_sign_in_place_reads_a_long_comment_stretch_in_little_memory(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    head = "---\n" + "#\n" * 1_000_000  # 2 MB
    page.write_text(f"{head}webUrl: https://news.test/a\n---\nbody\n")
    key = tmp_path / "k.hex"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o600)
    run = peak_run([CLI, "sign", page, "--key-file", key, "--in-place"])
    assert run.code == 0 and "Traceback" not in run.err, run.err
    peak = run.peak_mib
    assert page.read_text().startswith(head + "webUrl: https://news.test/a\nsecured: ")
    assert peak < _BOUND_MB, f"{peak} MB"
