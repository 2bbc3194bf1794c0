"""A loopback site for the tests of a daemon's stop with its checks on the wire.

It records each request's start (monotonic time, host and path), so a test can
name the requests begun after its signal, and whether the client hung up
before the answer (a check cut at the stop). `park.test` answers its first
request of each path `429 Retry-After` (the check then waits out the hold
aside, parked); every other request is answered after `pause` seconds, or,
with `pause=None`, once the test releases its URL (`release`) or all of them.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from daemon_harness import article, write_config

PAGE = b"<!doctype html><title>ok</title><h1>ok</h1>"
HELD_BOUND = 40.0  # seconds a held request waits for its release at most: a bound


class StopSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pause: float | None, retry_after: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pause = pause
        self.retry_after = retry_after
        self.cond = threading.Condition()
        self.starts: list[tuple[float, str]] = []  # (monotonic start, host/path)
        self.cut: list[str] = []  # requests whose client hung up before the answer
        self.answered: list[str] = []
        self.released: set[str] = set()
        self.release_all = False

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def started(self, prefix: str = "") -> list[str]:
        """The URLs (host/path) begun so far, in order, those under `prefix`."""
        with self.cond:
            return [u for _, u in self.starts if u.startswith(prefix)]

    def after(self, moment: float) -> list[str]:
        """The URLs begun after `moment` (time.monotonic)."""
        with self.cond:
            return [u for t, u in self.starts if t > moment]

    def release(self, url: str | None = None) -> None:
        """Answer the held request of `url` (host/path), or every one, now and later."""
        with self.cond:
            if url is None:
                self.release_all = True
            else:
                self.released.add(url)
            self.cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: StopSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server
        host = (self.headers.get("Host") or "").split(":")[0]
        url = host + self.path
        with site.cond:
            refuse = host == "park.test" and not any(u == url for _, u in site.starts)
            site.starts.append((time.monotonic(), url))
            site.cond.notify_all()
            if not refuse and site.pause is None:
                site.cond.wait_for(lambda: site.release_all or url in site.released, HELD_BOUND)
        if refuse:  # its retry waits out the hold aside (park), a request sent
            self._answer(429, b"slow down", {"Retry-After": str(site.retry_after)})
            return
        if site.pause is not None:
            time.sleep(site.pause)  # on the wire
        try:  # the client still there? b"" is its hang-up
            gone = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        with site.cond:  # noted before the answer: the test reads it once the daemon is done
            (site.cut if gone else site.answered).append(url)
        if not gone:
            self._answer(200, PAGE, {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


@contextmanager
def stop_site(*, pause: float | None = 0.3, retry_after: int = 6) -> Iterator[StopSite]:
    """A StopSite serving on a thread; every held request released at the end."""
    server = StopSite(pause, retry_after)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release()
        server.shutdown()
        server.server_close()


def park_config(home: Path, port: int, targets: int, **settings: Any) -> Path:
    """A daemon's config in `home` checking `targets` articles of park.test on the
    site at `port`, one request at a time for the host, each target due once in the
    test, a Retry-After of up to a minute waited out; `settings`, the scenario's."""
    values: dict[str, Any] = {
        "connect_to": [f"park.test:80:127.0.0.1:{port}"],
        "retries": 1,
        "retry_after_max": 60.0,
        "interval": 3600.0,
        "timeout": 2.0,
        "lease_seconds": 120.0,
        "per_host": 1,
    }
    config = write_config(home, port, **{**values, **settings})
    for i in range(targets):
        (home / "corpus" / f"p{i}.txt").write_text(article(f"http://park.test/{i}/"))
    return config


def documents_read(log: str) -> int:
    """How many of park_config's documents the daemon's log says it stored: a stop
    counted against all of them waits for the scan to end, which on a slow machine
    was still reading p2.txt when the first 429 came (3 of 6 put off, not 6)."""
    return len(set(re.findall(r"new document \S*/p(\d+)\.txt", log)))
