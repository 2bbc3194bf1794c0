"""Standard output or standard error unwritable where the CLI's own handling
does not reach: `--help` / `--version` (written by click while it parses, before
any command runs) to a reader gone, and the `Error: …` line itself to a full disk
(`2>/dev/full`) or to a reader gone. The exit code must still say what happened,
never the interpreter's 120 for a failed flush at exit, never a silent 1."""

from __future__ import annotations

import os
import subprocess
import time
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


def _queued(fd: int) -> int:
    import array
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


def _stalled_reader_run(args: list[str], buffered: bool) -> tuple[int, str]:
    """Run with stdout a pipe nobody reads and more output than it holds; once the
    pipe is full, SIGINT it, and again if it has not ended, reading nothing."""
    import fcntl
    import signal

    read, write = os.pipe()
    proc = subprocess.Popen(
        [CLI, *args], stdout=write, stderr=subprocess.PIPE, text=True, env=_env(buffered)
    )
    os.close(write)
    try:
        size = fcntl.fcntl(read, 1032)  # F_GETPIPE_SZ
        # bounded: until the pipe is full (the command is blocked). A full pipe holds
        # less than its size (writes that end mid-page: ~62,000 of 65,536 bytes), so
        # full is: over half of it queued, and no more for a second
        queued, still = 0, 0
        for _ in range(600):
            now = _queued(read)
            still = still + 1 if now == queued and now > size // 2 else 0
            if still >= 20 or proc.poll() is not None:
                break
            queued = now
            time.sleep(0.05)
        # the first is the command's: noted, it goes on (blocked); the next insists.
        # A second after the first, not 5: the command blocked in its write runs
        # the handler at once (EINTR), and each run waited out the whole 5 s here
        for wait in (1, 5, 5):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(read)
    return proc.returncode, err


@pytest.mark.parametrize("command", ["verify", "check"])
def test_a_stop_signal_ends_a_report_nobody_reads(tmp_path: Path, command: str) -> None:
    """`verify … | pager` with the pager not reading: the write blocked with every
    stop signal only noted (or held for the exit), so only SIGKILL ended it. A
    repeated stop signal now ends it: exit 130, said on stderr."""
    corpus = tmp_path / "big.jsonl"
    with corpus.open("w") as f:
        for i in range(3000):
            f.write(f'{{"webUrl": "http://127.0.0.1:9/{i}"}}\n')
    args = [command, str(corpus), "--format", "json"]
    if command == "check":
        args.append("--offline")
    code, err = _stalled_reader_run(args, buffered=True)
    assert code == 130, err
    assert "Traceback" not in err and "not being read" in err
