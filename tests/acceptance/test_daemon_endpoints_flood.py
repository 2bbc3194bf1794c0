"""The daemon's endpoints under a connection flood, as an operator meets it: a
process whose open-files limit is lower than the number of connections an
attacker opens. Health must still answer and the log must stay small."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from daemon_harness import CLI, wait_for, write_config

FILES_LIMIT = 256  # soft and hard: the daemon cannot raise it
FLOOD = 300  # half-sent requests: more than the process could hold


def _healthz(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
            return int(resp.status)
    except OSError:
        return 0


def test_a_flood_beyond_the_open_files_limit_leaves_health_answering(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 9, concurrency=8)
    log = tmp_path / "daemon.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            ["bash", "-c", f'ulimit -n {FILES_LIMIT} && exec "$0" run --config "$1"', CLI, cfg],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    flood: list[socket.socket] = []
    try:
        found = wait_for(
            lambda: re.search(r"on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace")),
            40,
            what=lambda: log.read_text(errors="replace"),
        )
        url = found.group(1)
        port = int(url.rsplit(":", 1)[1])
        for _ in range(FLOOD):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # the head never ends
            flood.append(sock)
        wait_for(lambda: _healthz(url) == 200, 30, what=lambda: log.read_text(errors="replace"))
        assert _healthz(url) == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        for sock in flood:
            sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    text = log.read_text(errors="replace")
    assert "out of system resource" not in text
    assert "Traceback" not in text
    assert len(text.splitlines()) < 40, text[-3000:]
    # the limit is short of what the configuration wants: the operator is told
    assert f"open-files limit ({FILES_LIMIT}) leaves room for" in text
