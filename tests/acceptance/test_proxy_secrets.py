"""The proxy's password (and the other ARTICLE_MONITOR_* values) never reach a
checker process's environment: `check --workers 2` with ARTICLE_MONITOR_PROXY
holding a password, its checker processes' /proc/PID/environ read while they
run (a loopback site holds its answers until they are read).

The settings travel the checker processes' stdin pipe; a child that inherited
the parent's environment kept the password (and ARTICLE_MONITOR_KEY, or a
database URL's password) readable by anyone who may read its /proc entry.
"""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from daemon_harness import CLI, user_env

PASSWORD = "pw-proxy-6d1e93b0"
KEY = "3a8c55e1" * 8  # 64 hex digits: a key (`article-monitor keygen`)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc/*/stat: no kernel option needed)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def test_checker_processes_get_no_article_monitor_variable(tmp_path: Path) -> None:
    arrived = threading.Event()
    release = threading.Event()

    class Held(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrived.set()
            release.wait(30)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Held)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    folder = tmp_path / "corpus"
    folder.mkdir()
    for n in range(4):
        url = f"http://127.0.0.1:{port}/a{n}"
        (folder / f"a{n}.md").write_text(f'---\nwebUrl: "{url}"\ntitle: "Story"\n---\n')
    env = user_env(
        ARTICLE_MONITOR_PROXY=f"http://monitor:{PASSWORD}@127.0.0.1:9",
        ARTICLE_MONITOR_NO_PROXY="127.0.0.1",
        ARTICLE_MONITOR_KEY=KEY,
        ARTICLE_MONITOR_KINDS="web",
        ARTICLE_MONITOR_RETRIES="0",
        ARTICLE_MONITOR_SOFT_404_PROBE="false",
    )
    cmd = [CLI, "check", str(folder), "--workers", "2", "--allow-network", "127.0.0.0/8"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        for _ in range(300):  # bounded: 30 s
            if arrived.wait(0.1) or proc.poll() is not None:
                break
        assert arrived.is_set(), proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        kids = children(proc.pid)
        while not kids and time.monotonic() < deadline:  # bounded: spawned before any request
            time.sleep(0.05)
            kids = children(proc.pid)
        assert kids, "check started no checker process"
        for kid in kids:
            environ = Path(f"/proc/{kid}/environ").read_bytes()
            assert b"monitor.check.worker" in Path(f"/proc/{kid}/cmdline").read_bytes()
            assert PASSWORD.encode() not in environ, "the proxy's password in a checker's env"
            assert KEY.encode() not in environ
            assert b"ARTICLE_MONITOR_" not in environ
    finally:
        release.set()
        out, err = proc.communicate(timeout=60)
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1, err  # the 404s
    assert PASSWORD not in out + err
