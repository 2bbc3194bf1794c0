"""Standard output or standard error unwritable where the CLI's own handling
does not reach: `--help` / `--version` (written by click while it parses, before
any command runs) to a reader gone, and the `Error: …` line itself to a full disk
(`2>/dev/full`) or to a reader gone. The exit code must still say what happened,
never the interpreter's 120 for a failed flush at exit, never a silent 1."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from daemon_harness import CLI, one_article_corpus

READER_GONE = "Error: the output was closed by its reader (broken pipe), so it is cut short\n"
FULL = Path("/dev/full")


def _env(buffered: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return env if buffered else {**env, "PYTHONUNBUFFERED": "1"}


@contextmanager
def _reader_gone() -> Iterator[int]:
    """The write end of a pipe whose reader has closed: every write fails (EPIPE)."""
    read, write = os.pipe()
    os.close(read)
    try:
        yield write
    finally:
        os.close(write)


def _run(args: list[str], stdout: int | IO[str], stderr: int | IO[str], buffered: bool) -> Any:
    return subprocess.run(
        [CLI, *args],
        stdout=stdout,
        stderr=stderr,
        text=True,
        timeout=60,
        check=False,
        env=_env(buffered),
    )


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["check", "--help"]], ids=" ".join)
def test_help_and_version_to_a_reader_gone(args: list[str], buffered: bool) -> None:
    """click swallowed the broken pipe and exited 1 with nothing said; every
    other command says it (exit 2)."""
    with _reader_gone() as write:
        out = _run(args, write, subprocess.PIPE, buffered)
    assert (out.returncode, out.stderr) == (2, READER_GONE)


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_an_error_that_cannot_be_said_keeps_its_exit_code(tmp_path: Path, buffered: bool) -> None:
    """`2>/dev/full`: the `Error:` line fails to write; the exit code was the
    interpreter's 120 (its flush of stderr at exit failed) in place of 2."""
    corpus = one_article_corpus(tmp_path)
    cases = {
        "usage error": (["verify", str(corpus), "--key-file", str(tmp_path / "no.key")], None),
        "stdout full too": (["check", str(corpus), "--offline"], FULL),
        "stdout's reader gone too": (["check", str(corpus), "--offline"], "gone"),
    }
    for what, (args, where) in cases.items():
        with FULL.open("w") as err:
            if where == "gone":
                with _reader_gone() as write:
                    out = _run(args, write, err, buffered)
            elif where is None:
                out = _run(args, subprocess.DEVNULL, err, buffered)
            else:
                with where.open("w") as full:
                    out = _run(args, full, err, buffered)
        assert out.returncode == 2, what


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")
def test_a_run_with_nothing_to_say_is_unaffected_by_stderr_full(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    with FULL.open("w") as err:
        out = _run(["verify", str(corpus)], subprocess.PIPE, err, True)
    assert out.returncode in (0, 1) and out.stdout
