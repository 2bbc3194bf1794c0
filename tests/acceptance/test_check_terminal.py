"""Terminal behaviour of `check`: default format and where the progress bar goes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _drain(fd: int, proc: subprocess.Popen[bytes], limit: float = 60) -> bytes:
    out = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=max(1, deadline - time.monotonic()))
    return out


def test_json_when_stdout_is_not_a_terminal() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "examples/articles", "--offline"],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 0
    assert json.loads(p.stdout)["summary"]["articles"] >= 13
    assert p.stderr == b""  # no progress bar when stderr is not a terminal


def test_table_when_stdout_is_a_terminal() -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", "examples/broken", "--offline"],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(slave)
    out = _drain(master, proc).decode("utf-8", "replace")
    os.close(master)
    assert proc.returncode == 1
    assert "Invalid documents" in out and "cdn_url_mismatch" in out
    assert not out.lstrip().startswith("{")


def test_progress_goes_to_a_terminal_stderr_and_never_to_stdout(tmp_path: Path) -> None:
    # targets that fail fast without any packet: .invalid names never resolve
    lines = [
        json.dumps(
            {
                "webUrl": f"https://n{i}.invalid/a",
                "title": "t",
                "publishedDateTime": "2020-01-01T00:00:00Z",
                "provider": {"domain": f"n{i}.invalid"},
            }
        )
        for i in range(20)
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(lines) + "\n")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", str(tmp_path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=ROOT,
    )
    os.close(slave)
    assert proc.stdout is not None
    with proc.stdout:
        stdout = proc.stdout.read()
    err = _drain(master, proc).decode("utf-8", "replace")
    os.close(master)
    report = json.loads(stdout)  # stdout holds the report and nothing else
    assert report["summary"]["by_outcome"] == {"dns_error": 20}
    assert "checking" in err  # the progress bar was drawn on the terminal
