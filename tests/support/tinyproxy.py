"""A real HTTP proxy for tests: tinyproxy (Debian package `tinyproxy`, installed
by scripts/test-deps.sh), run in the foreground on 127.0.0.1 with a generated
config, and loopback servers (http and https) that record who asked them what.

tinyproxy binds its outgoing connections to 127.0.0.2 (`Bind`), so a server
tells a request that came through the proxy (peer 127.0.0.2) from one made
directly (peer 127.0.0.1); its log (`LogLevel Info`) holds each request line
it was sent (`CONNECT host:port`, `GET http://host:port/path`).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from support.certs import CertAuthority

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
PROXY_OUT = "127.0.0.2"  # tinyproxy's outgoing address: what the servers see
PAGE = "<!doctype html><html><head><title>Story</title></head><body><h1>Story</h1></body></html>"


def need_tinyproxy() -> None:
    """Skip, saying why, when the binary is missing."""
    if not Path(TINYPROXY).is_file():
        pytest.skip("tinyproxy is not installed (scripts/test-deps.sh installs it: apt tinyproxy)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tinyproxy:
    """tinyproxy on 127.0.0.1:`port`, allowing CONNECT to `connect_ports`,
    with `BasicAuth` when `auth` (user, password) is given."""

    def __init__(
        self, directory: Path, connect_ports: list[int], auth: tuple[str, str] | None = None
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "tinyproxy.log"
        self.conf = directory / "tinyproxy.conf"
        self.auth = auth
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._connect_ports = connect_ports

    def start(self) -> Tinyproxy:
        for _ in range(5):  # a free port taken by another between our close and its bind
            self.port = free_port()
            lines = [
                f"Port {self.port}",
                "Listen 127.0.0.1",
                f"Bind {PROXY_OUT}",
                "Timeout 10",
                "Allow 127.0.0.1",
                f'LogFile "{self.log}"',
                "LogLevel Info",
                "MaxClients 32",
                *(f"ConnectPort {p}" for p in self._connect_ports),
            ]
            if self.auth is not None:
                lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
            self.conf.write_text("\n".join(lines) + "\n")
            self.log.write_text("")
            self.proc = subprocess.Popen(
                [TINYPROXY, "-d", "-c", str(self.conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10  # a bound on a hang, not a timing
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
        raise AssertionError(f"tinyproxy did not start; its log:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def url(self, user: str | None = None, password: str | None = None) -> str:
        cred = "" if user is None else f"{user}:{password}@"
        return f"http://{cred}127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """The request lines tinyproxy logged (`CONNECT h:p HTTP/1.1`, `GET http://…`)."""
        marker = "): "
        return [
            line.split(marker, 1)[1].strip()
            for line in self.log.read_text().splitlines()
            if "Request (file descriptor" in line and marker in line
        ]


class Servers:
    """An http and an https loopback server (certificate for `tls_names`) in a
    thread; every path answers a page. `seen` holds (scheme, path, peer address)."""

    def __init__(self, ca: CertAuthority, tls_names: list[str]) -> None:
        self.leaf = ca.issue(tls_names)
        self.seen: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.http_port = 0
        self.https_port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _app(self, scheme: str) -> web.Application:
        async def route(request: web.Request) -> web.Response:
            peer = request.transport.get_extra_info("peername")[0] if request.transport else ""
            with self.lock:
                self.seen.append((scheme, request.path, str(peer)))
            return web.Response(text=PAGE, content_type="text/html")

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", route)
        return app

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        runners = []
        for scheme in ("http", "https"):
            runner = web.AppRunner(self._app(scheme), access_log=None)
            self._loop.run_until_complete(runner.setup())
            ctx = self.leaf.server_context() if scheme == "https" else None
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
            self._loop.run_until_complete(site.start())
            port = int(runner.addresses[0][1])
            if scheme == "https":
                self.https_port = port
            else:
                self.http_port = port
            runners.append(runner)
        self._ready.set()
        self._loop.run_forever()
        for runner in runners:
            self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> Servers:
        self._thread.start()
        if not self._ready.wait(30):  # a bound on a hang, not a timing
            raise AssertionError("the loopback servers did not start within 30 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def peers(self, scheme: str, path: str) -> set[str]:
        with self.lock:
            return {peer for s, p, peer in self.seen if s == scheme and p == path}
