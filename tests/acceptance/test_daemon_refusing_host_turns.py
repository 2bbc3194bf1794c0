"""`run`: the targets of a host that refuses every request take turns; the same
few are not checked again and again while the rest wait for ever.

A host answering `429 Retry-After: 3` to everything has its claims given back
due at its hold's end (dispatch.py `held_back`), and `per_host` of them are
started there. Given back due at the hold's end alone, they came back with one
due time, and the queue takes equal dues by target id: the targets checked a
moment before (due again `interval` later, given back too) came first at every
hold's end, and with `interval` shorter than the host's backlog takes, the
others never got a result and the cycle lag said nothing. Now a claim given
back longer ago is due a few ms earlier after the hold's end. The assertions
count results, never time; the waits are bounds on a hang.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, query, wait_for, write_config

# slow: four holds of the host waited out (~15 s, the longest of `make test`, which is
# at its 10 minutes); `make test-slow` runs it in CI
pytestmark = pytest.mark.slow

IMAGES = 7  # and the story page: 8 targets on the refusing host
# the host's hold (Retry-After, s): over HOLD_SLACK (1 s), so claims are first
# given back to the hold's end, then started from it; the interval is shorter
# than the backlog takes (8 targets at per_host 2 a hold: 4 holds) and longer
# than one hold, so a target checked at one hold's end is due at the next but one
HOLD = 2
INTERVAL = 2.7


class Refusing(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        try:
            self.send_response(429)
            self.send_header("Retry-After", str(HOLD))
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass


@pytest.fixture
def site() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_targets_of_a_host_refusing_everything_take_turns(
    tmp_path: Path, site: ThreadingHTTPServer
) -> None:
    """The first 12 results go to all 8 targets (before: 4 or 5 of them, the
    lowest ids, checked again each time their interval came). ~14 s: 12
    results at 2 a 2 s hold are the fewest that show turns taken or not (a 3 s
    hold and a 4 s interval, ~20 s, showed the same)."""
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"cdn.test:80:127.0.0.1:{port}"],
        kinds=["web", "image"],
        concurrency=2,
        per_host=2,
        retries=0,
        retry_after_max=10.0,
        interval=INTERVAL,
        retry_interval=INTERVAL,
        lease_seconds=60.0,
    )
    images = [
        {"url": f"http://cdn.test/img/{n}.png", "width": 1, "height": 1} for n in range(IMAGES)
    ]
    (tmp_path / "corpus" / "a.json").write_text(
        json.dumps(
            {
                "webUrl": "http://cdn.test/story/",
                "title": "A story",
                "provider": {"name": "News", "domain": "cdn.test"},
                "images": images,
            }
        )
    )
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()

        def results() -> list[tuple[Any, ...]]:
            return query(db, "SELECT target_id FROM check_results ORDER BY checked_at LIMIT 12")

        wait_for(lambda: len(results()) >= 12, 90, what=lambda: f"{results()} {daemon.text()}")
        first = Counter(t for (t,) in results())
        assert len(first) == 1 + IMAGES, first
    finally:
        daemon.kill()
    assert "Traceback" not in daemon.text(), daemon.text()
