"""The private-address guard with a proxy, through `check`: an IPv4 literal
spelled with a trailing dot (`http://127.0.0.1.:PORT/`, `https://10.0.0.1./`)
is an IP-literal target, blocked and never asked of the proxy.

Without a proxy such a host does not resolve (`dns_error`); through one it was
taken for a name and handed to the proxy, whose own parsing decides: Squid
strips a host's trailing dots, so `http://169.254.169.254./` reached the
metadata address through it, past the guard the docs promise still judges
IP-literal targets. A recording proxy on loopback counts what it was asked.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path

from daemon_harness import CLI, user_env


class Recorder:
    """A "proxy" that records each request line and answers 502."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    head = conn.recv(65536)
                    self.asked.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_ip_literals_with_a_trailing_dot_are_blocked_not_asked_of_the_proxy(
    tmp_path: Path,
) -> None:
    proxy = Recorder()
    folder = tmp_path / "corpus"
    folder.mkdir()
    urls = ["http://127.0.0.1.:9/a", "https://10.0.0.1./b", "http://169.254.169.254./c"]
    for n, url in enumerate(urls):
        (folder / f"a{n}.md").write_text(f'---\nwebUrl: "{url}"\ntitle: "Story"\n---\n')
    try:
        done = subprocess.run(
            [CLI, "check", str(folder), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=user_env(
                ARTICLE_MONITOR_PROXY=f"http://monitor:pw-71c0@127.0.0.1:{proxy.port}",
                ARTICLE_MONITOR_KINDS="web",
                ARTICLE_MONITOR_RETRIES="0",
                ARTICLE_MONITOR_SOFT_404_PROBE="false",
            ),
        )
    finally:
        proxy.close()
    assert done.returncode == 1, done.stderr
    found = {
        t["url"]: (t["outcome"], t["error"])
        for a in json.loads(done.stdout)["articles"]
        for t in a["targets"]
    }
    assert found == {
        "http://127.0.0.1.:9/a": ("blocked", "blocked: 127.0.0.1 (loopback)"),
        "https://10.0.0.1./b": ("blocked", "blocked: 10.0.0.1 (private)"),
        "http://169.254.169.254./c": ("blocked", "blocked: 169.254.169.254 (link-local)"),
    }, found
    assert proxy.asked == []
