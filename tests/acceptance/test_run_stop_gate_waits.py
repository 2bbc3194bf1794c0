"""`run` with checker processes (`workers = 2`) stopped (SIGTERM) while a check
waits at its host's gate with nothing sent: it is answered as not started at
once, and the stop waits only for the check under way.

A check waiting out its host's `host_min_interval` (or a backoff within
HOLD_SLACK) with the host's slot taken slept at the gate, and the stop did not
wake it: it held the stop until its sleep ended, up to the interval, and with
an interval beyond `shutdown_grace` the stop took the whole grace and gave its
claim back only then, as a check that "did not finish in time" (R28:
`host_min_interval = 30`, the request under way answered in 0.3 s, the stop
took the 8 s grace).

The server records each request's start; the waits are bounds on a hang,
never timings.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, article, query, wait_for, write_config

BOUND = 40  # seconds: a bound on a hang, never a timing


class Site(ThreadingHTTPServer):
    daemon_threads = True
    lock: threading.Lock
    starts: list[tuple[float, str]]  # (monotonic start, path) of every request


class Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.starts.append((time.monotonic(), self.path))
        time.sleep(0.3)  # on the wire
        body = b"<!doctype html><title>ok</title><h1>ok</h1>"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site(("127.0.0.1", 0), Handler)
    server.lock = threading.Lock()
    server.starts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_check_waiting_out_its_hosts_interval_is_answered_at_once_at_a_stop(
    tmp_path: Path, site: Site
) -> None:
    """One host, `per_host = 1`, 30 s between its requests: the first check's
    request is sent, the next waits out the interval at the gate, its slot
    taken. SIGTERM once the first was answered: the waiting one is answered as
    not started, so nothing is left for the grace (before: the stop took the
    whole 8 s grace and warned that a check "did not finish in time"). ~5 s:
    the daemon's start and its first check."""
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"slow.test:80:127.0.0.1:{port}"],
        concurrency=8,
        per_host=1,
        host_min_interval=30.0,
        workers=2,
        interval=3600.0,
        timeout=20.0,
        lease_seconds=120.0,
        shutdown_grace=8.0,
    )
    for i in range(4):
        (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://slow.test/{i}/"))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        # the first check recorded: the next one waits out the interval at the gate
        wait_for(lambda: query(db, "SELECT count(*) FROM check_results") == [(1,)], BOUND)
        signalled = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 0, text
    assert "Traceback" not in text, text
    assert "did not finish in time" not in text, text  # before: held for the whole grace
    with site.lock:
        starts = list(site.starts)
    assert len(starts) == 1 and not [p for t, p in starts if t > signalled], starts
    assert query(db, "SELECT count(*) FROM check_results") == [(1,)]
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
