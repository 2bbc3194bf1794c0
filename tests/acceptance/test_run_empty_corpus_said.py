"""`run` on a folder holding no document says so (r5 review).

`check` warns "no documents found under …"; `run` on the same folder (a
mistyped path that exists, a corpus of `.html` files) logged "scheduler
running" and then nothing: a daemon watching nothing looked healthy.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from daemon_harness import CLI


def test_run_once_on_a_folder_without_documents_warns(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.html").write_text("<html></html>")
    done = subprocess.run(
        [CLI, "run", str(corpus), "--once", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"WARNING monitor.daemon: no documents found under {corpus} (searched for" in (
        done.stderr
    ), done.stderr
    assert "*.txt" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_with_documents_says_nothing_of_the_kind(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "http://news.test/a/"\ntitle: "t"\n---\n')
    done = subprocess.run(
        [CLI, "run", str(corpus), "--once", "--data-dir", str(tmp_path / "data"), "--kinds", "web"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "no documents found" not in done.stderr, done.stderr
