"""The daemon's log as an operator reads it: a corpus file name cannot forge
a line or send escape sequences to the terminal, in text or JSON format."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, wait_for, write_config

FORGED = "2026-01-01 00:00:00,000 ERROR   monitor.daemon: forged"
NAME = f"bad\n{FORGED}\r\x1b[2J\x1b]0;title\x07.txt"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_hostile_file_name_stays_inside_its_log_line(tmp_path: Path, log_format: str) -> None:
    cfg = write_config(tmp_path, 9, log_format=log_format)
    (tmp_path / "corpus" / NAME).write_text("---\nwebUrl: [unclosed\n---\n")
    daemon = DaemonProcess(cfg)
    try:
        wait_for(lambda: "forged" in daemon.text(), 40, what=daemon.text)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    finally:
        daemon.kill()
    raw = daemon.log.read_bytes()
    assert b"\x1b" not in raw and b"\r" not in raw and b"\x07" not in raw
    lines = raw.decode().splitlines()
    assert not [line for line in lines if line.startswith(FORGED[:10])]
    mentions = [line for line in lines if "forged" in line]
    assert mentions
    if log_format == "json":
        for line in lines:
            json.loads(line)
        assert any(NAME in json.loads(line)["msg"] for line in mentions)
    else:
        assert all("bad\\n2026-01-01" in line and "\\x1b[2J" in line for line in mentions)
