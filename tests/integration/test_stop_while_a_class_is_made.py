"""A stop signal while a class is being made (hostile review R19): Python 3.11
wraps whatever a descriptor's `__set_name__` raises (a dataclass field's, at an
import) in `RuntimeError('Error calling __set_name__ ...')`, so the signal's
exception came out as that error: "internal error ... This is a bug" with a
traceback and exit 70 (`check -o FILE`, 1 of 120 SIGTERMs at random delays,
while `monitor.targets` was imported). The signal is raised here from the field's
`__set_name__` of that class, as the random one was."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import dataclasses, signal, sys

    owner_name = sys.argv.pop(1)
    original = dataclasses.Field.__set_name__

    def stop_here(self, owner, name):  # the signal's handler runs inside it, once
        if owner.__name__ == owner_name:
            dataclasses.Field.__set_name__ = original
            signal.raise_signal(signal.SIGTERM)
        return original(self, owner, name)

    dataclasses.Field.__set_name__ = stop_here
    sys.argv = ["article-monitor", *sys.argv[1:]]
    import monitor.cli
    assert "monitor.targets" not in sys.modules
    monitor.cli.main()
    """
)


def _run(tmp_path: Path, owner: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, owner, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 no longer wraps it")
def test_check_stopped_while_a_dataclass_is_made_exits_130_keeping_its_file(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("no front matter\n")
    report = tmp_path / "report.json"
    report.write_text("the last run's report\n")
    done = _run(tmp_path, "TargetRef", "check", str(corpus), "--offline", "-o", str(report))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGTERM) before the run began" in done.stderr, done.stderr
    assert report.read_text() == "the last run's report\n"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 no longer wraps it")
def test_a_command_stopped_early_while_a_dataclass_is_made_exits_130(tmp_path: Path) -> None:
    """Before a command takes the signals over (the early handler's SystemExit)."""
    done = _run(tmp_path, "TargetRef", "status", "--data-dir", str(tmp_path / "data"))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "interrupted (SIGTERM)" in done.stderr, done.stderr
