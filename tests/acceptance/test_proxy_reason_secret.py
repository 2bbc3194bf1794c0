"""A proxy that echoes the credentials it was sent in its answer's reason phrase
(`HTTP/1.1 403 Proxy-Authorization: Basic …`, a hostile or buggy proxy) does
not get them into the report: the proxy's status is still named, its reason
left out. The reason was copied into the target's error (`proxy HOST:PORT
answered 403 Proxy-Authorization: Basic bW9u… to CONNECT …`), and so into
every report format, the daemon's log and its database.

The "proxy" is a loopback port (support.servers.accepting_port) answering each
request at once: CONNECT with 403, an absolute-form GET with 407 (the proxy's
own, `connection_error`).
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env
from support.servers import accepting_port


def echo_credentials(conn: socket.socket) -> None:
    """Answer a request with a status whose reason is the Proxy-Authorization it
    was sent, raw and decoded: 403 to CONNECT, 407 to an absolute-form GET."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        got = conn.recv(4096)
        if not got:
            break
        head += got
    lines = head.split(b"\r\n")
    given = [v for v in lines if v.lower().startswith(b"proxy-authorization:")]
    said = given[0] if given else b"none"
    token = said.rpartition(b" ")[2]
    reason = said + b" " + base64.b64decode(token + b"==")
    status = b"403" if lines[0].startswith(b"CONNECT") else b"407"
    conn.sendall(b"HTTP/1.1 " + status + b" " + reason + b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    ("credentials", "secrets"),
    [
        ("monitor:pw-4be19d7c", ["pw-4be19d7c"]),
        ("key-83f0aa21d6:", ["key-83f0aa21d6"]),  # an API key as the user
    ],
)
def test_credentials_echoed_by_the_proxy_are_not_reported(
    tmp_path: Path, credentials: str, secrets: list[str]
) -> None:
    secrets = [*secrets, base64.b64encode(credentials.encode()).decode()]
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, url in (("a", "https://news.test/e/"), ("b", "http://plain.test/e/")):
        (folder / f"{name}.md").write_text(f'---\nwebUrl: "{url}"\ntitle: "t"\n---\n')
    with accepting_port(echo_credentials) as port:
        runs = [
            subprocess.run(
                [CLI, "check", str(folder), "--format", fmt],
                capture_output=True,
                text=True,
                timeout=60,
                env=user_env(
                    ARTICLE_MONITOR_PROXY=f"http://{credentials}@127.0.0.1:{port}",
                    ARTICLE_MONITOR_KINDS="web",
                    ARTICLE_MONITOR_RETRIES="0",
                    ARTICLE_MONITOR_SOFT_404_PROBE="false",
                ),
            )
            for fmt in ("json", "junit", "markdown", "table")
        ]
    for done in runs:
        assert done.returncode == 1, done.stderr
        for secret in secrets:
            assert secret not in done.stdout + done.stderr
    report = json.loads(runs[0].stdout)
    targets = [t for a in report["articles"] for t in a["targets"]]
    errors = {t["url"]: (t["outcome"], t["error"]) for t in targets}
    address = f"127.0.0.1:{port}"
    assert errors == {
        "https://news.test/e/": (
            "connection_error",
            f"proxy {address} answered 403 to CONNECT news.test:443",
        ),
        "http://plain.test/e/": (
            "connection_error",
            f"proxy {address} answered 407 to GET for plain.test:80",
        ),
    }
