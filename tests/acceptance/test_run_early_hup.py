"""A SIGHUP that reaches `article-monitor run` while it still imports its command
line (before the command is chosen): SIGHUP's default action ended the process,
so a systemd `ExecReload=kill -HUP $MAINPID` right after a start stopped the
service. The signal is sent while the process is held at its import of click
(a gate installed by a sitecustomize on PYTHONPATH): no timing involved."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from daemon_harness import CLI, LinkServer, article, wait_for, write_config

from monitor.daemon.hup import command_of

GATE = textwrap.dedent(
    """
    import os, sys

    class _Gate:
        # the first import of click: tell the test, wait for its go
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                sys.meta_path.remove(self)
                os.write(int(os.environ["GATE_READY"]), b"r")
                os.read(int(os.environ["GATE_GO"]), 1)
            return None

    sys.meta_path.insert(0, _Gate())
    """
)


def _sighup_state(pid: int) -> tuple[bool, bool]:
    """Whether SIGHUP is (blocked, ignored) in process `pid`, from /proc."""
    fields = dict(
        line.split(":\t", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":\t" in line
    )
    bit = 1 << (signal.SIGHUP - 1)
    return bool(int(fields["SigBlk"], 16) & bit), bool(int(fields["SigIgn"], 16) & bit)


def _gated(
    tmp: Path,
    argv: list[str],
    *,
    sighup_default: bool = False,
    sig: signal.Signals = signal.SIGHUP,
    **popen: object,
) -> subprocess.Popen[bytes]:
    """`argv` started, held at its import of click, and sent `sig` there."""
    gate = tmp / "gate"
    gate.mkdir()
    (gate / "sitecustomize.py").write_text(GATE)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pythonpath = os.pathsep.join(filter(None, [str(gate), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "PYTHONUNBUFFERED": "1",
        "GATE_READY": str(ready_w),
        "GATE_GO": str(go_r),
    }
    proc = subprocess.Popen(argv, env=env, pass_fds=(ready_w, go_r), **popen)  # type: ignore[call-overload]
    os.close(ready_w)
    os.close(go_r)
    try:
        readable, _, _ = select.select([ready_r], [], [], 60)
        assert readable and os.read(ready_r, 1) == b"r", "the process never imported click"
        if sighup_default:
            # held at the gate, and not `run` (which holds SIGHUP from its first
            # line): blocked or ignored here, the mask came from the test's own
            # process (a leak of an earlier test), not from article-monitor
            assert _sighup_state(proc.pid) == (False, False), _sighup_state(proc.pid)
        proc.send_signal(sig)
        with contextlib.suppress(BrokenPipeError):  # ended by `sig` already (its default)
            os.write(go_w, b"g")
    finally:
        os.close(ready_r)
        os.close(go_w)
    return proc  # type: ignore[no-any-return]


@pytest.mark.parametrize("entry", ["script", "module", "separator"])
def test_a_sighup_before_the_command_is_chosen_is_a_reload_of_run(
    tmp_path: Path, entry: str
) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        head = [CLI] if entry != "module" else [sys.executable, "-m", "monitor"]
        if entry == "separator":  # `article-monitor -- run`: click reads `run` after `--`
            head.append("--")
        log = tmp_path / "daemon.log"
        with log.open("wb") as fh:
            proc = _gated(
                tmp_path, [*head, "run", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=fh
            )
            try:
                wait_for(
                    lambda: "configuration reloaded" in log.read_text() or proc.poll() is not None,
                    60,
                    what=log.read_text,
                )
                assert proc.poll() is None, (proc.returncode, log.read_text())
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(30) == 0, log.read_text()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
    text = log.read_text()
    assert "configuration reloaded" in text and "Traceback" not in text, text


def test_other_commands_keep_sighups_default(tmp_path: Path) -> None:
    """`check` does not reload: SIGHUP still ends it, as a hang-up ends a terminal's job."""
    corpus = tmp_path / "a.txt"
    corpus.write_text(article("http://news.test/a/"))
    proc = _gated(
        tmp_path,
        [CLI, "check", str(corpus), "--offline"],
        sighup_default=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGHUP, (proc.returncode, err.decode(errors="replace"))


def test_the_command_word_is_read_as_the_group_reads_it() -> None:
    assert command_of(["am", "run", "x"]) == "run"
    assert command_of(["am", "--help", "run"]) == "run"
    assert command_of(["am", "check", "run"]) == "check"
    assert command_of(["am", "--bogus", "run"]) is None
    assert command_of(["am"]) is None
    assert command_of(["am", "--", "run"]) == "run"
    assert command_of(["am", "--help", "--", "run"]) == "run"
    assert command_of(["am", "--", "--", "run"]) == "--"
    assert command_of(["am", "--"]) is None
