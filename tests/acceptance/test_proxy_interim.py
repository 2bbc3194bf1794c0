"""A proxy's interim (1xx) answers before its 200 to CONNECT, through `check`:
skipped, as RFC 9110 asks of every client ("a client MUST be able to parse
one or more 1xx responses received prior to a final response"), and the
https target is checked through the tunnel. They were read as the final
answer: `connection_error`, "proxy … answered 100 Continue to CONNECT …".

A stream of 1xx heads that never ends in a final one stays bounded: it counts
within the CONNECT answer's 16 KiB (a socket pair, no process). A proxy that
answers 200 and then closes, before any TLS, is said as such, not as an
empty `cannot connect: `.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, user_env
from support.certs import CertAuthority
from support.tinyproxy import Servers

from monitor.http.proxy_tunnel import ProxyFailedError, read_connect_answer

INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, CertAuthority]]:
    ca = CertAuthority(tmp_path_factory.mktemp("pki"))
    with Servers(ca, ["news.test"]) as servers:
        yield servers, ca


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class InterimProxy:
    """Answers each CONNECT with INTERIM, then 200, then tunnels to the port asked
    (with `hang_up`, closes instead: no TLS ever comes back)."""

    def __init__(self, *, hang_up: bool = False) -> None:
        self.hang_up = hang_up
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.asked: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                got = conn.recv(4096)
                if not got:
                    break
                head += got
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.asked.append(line)
            port = int(line.split(" ")[1].rsplit(":", 1)[1])
            conn.sendall(INTERIM + b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.hang_up:
                conn.recv(65536)  # the TLS hello, unanswered
                conn.close()
                continue
            up = socket.create_connection(("127.0.0.1", port))
            threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
            threading.Thread(target=pipe, args=(up, conn), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


def check_through(
    tmp_path: Path, site: tuple[Servers, CertAuthority], proxy: InterimProxy
) -> dict[str, Any]:
    """`check` of https://news.test/interim/ through `proxy`: its one target."""
    servers, ca = site
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.md").write_text('---\nwebUrl: "https://news.test/interim/"\ntitle: "t"\n---\n')
    try:
        done = subprocess.run(
            [
                CLI,
                "check",
                str(folder),
                "--format",
                "json",
                "--ca-bundle",
                str(ca.cert_file),
                "--allow-network",
                "127.0.0.0/8",
                "--connect-to",
                f"news.test:443:127.0.0.1:{servers.https_port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=user_env(
                ARTICLE_MONITOR_PROXY=f"http://127.0.0.1:{proxy.port}",
                ARTICLE_MONITOR_KINDS="web",
                ARTICLE_MONITOR_RETRIES="0",
                ARTICLE_MONITOR_SOFT_404_PROBE="false",
                ARTICLE_MONITOR_CHECK_CONTENT_DRIFT="false",
            ),
        )
    finally:
        proxy.close()
    assert done.returncode in (0, 1), done.stderr
    [target] = [t for a in json.loads(done.stdout)["articles"] for t in a["targets"]]
    assert proxy.asked == [f"CONNECT 127.0.0.1:{servers.https_port} HTTP/1.1"]
    return target


def test_interim_answers_to_connect_are_skipped(
    tmp_path: Path, site: tuple[Servers, CertAuthority]
) -> None:
    target = check_through(tmp_path, site, InterimProxy())
    assert (target["outcome"], target["error"]) == ("ok", None), target


def test_a_tunnel_closed_before_tls_says_so(
    tmp_path: Path, site: tuple[Servers, CertAuthority]
) -> None:
    """The proxy answers 200, then closes: asyncio's TLS layer raises a
    ConnectionResetError without text, reported as `cannot connect: ` (empty)."""
    target = check_through(tmp_path, site, InterimProxy(hang_up=True))
    assert (target["outcome"], target["error"]) == (
        "connection_error",
        "cannot connect: connection closed during the TLS handshake",
    ), target


async def test_endless_interim_answers_are_bounded() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    stop = threading.Event()

    def flood() -> None:
        try:
            while not stop.is_set():
                theirs.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 64)
        except OSError:
            pass

    feeder = threading.Thread(target=flood, daemon=True)
    feeder.start()
    try:
        with pytest.raises(ProxyFailedError) as failed:
            async with asyncio.timeout(30):  # bounded: the answer's size ends it, not this
                await read_connect_answer(
                    asyncio.get_running_loop(), ours, "127.0.0.1:9", "news.test:443"
                )
    finally:
        stop.set()
        ours.close()
        feeder.join(10)
        theirs.close()
    assert str(failed.value) == (
        "proxy 127.0.0.1:9's answer to CONNECT news.test:443 has a head over 16384 bytes"
    )
