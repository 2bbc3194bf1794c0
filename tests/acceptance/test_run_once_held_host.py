"""`run --once` checks a host held back during its pass: every target due at
its cutoff gets a result, the held host's after its hold, and exit 0 only then.

`held.test` answers its first request `429 Retry-After: 2` (in 0.1 s) and
serves the rest (in 0.5 s); `news.test` serves. In-process (`workers = 1`) the held host's other
checks wait at its gate, as ever. With checker processes (`workers = 2`) a
check that has sent nothing when its host's hold begins is given back by its
process (requests.py, checkers.py `CheckerDeferred`): the daemon gave its
claim back due at the hold's end, after the pass's cutoff, so the pass never
claimed it again and ended with exit 0 and those targets unchecked (R33).
A hold is waited out, as the in-process gate waits it (every hold is capped
by `retry_after_max` or `backoff_max`); a stop meanwhile ends the pass at once
with exit 1, the held targets given back due. The waits are bounds on a hang;
nothing is timed.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import (
    CLI,
    PAGE,
    DaemonProcess,
    article,
    query,
    user_env,
    wait_for,
    write_config,
)

BOUND = 60  # seconds: a bound on a hang, never a timing
HELD = [f"http://held.test/{n}/" for n in range(8)]
OTHERS = [f"http://news.test/{n}/" for n in range(4)]
REFUSED_AFTER = 0.1  # seconds held.test takes to answer its 429
SERVED_AFTER = 0.5  # ... and its other requests


class Site(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    lock: threading.Lock
    retry_after = "2"
    answered: Counter[str]  # by host: answers written whole


class Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server
        host = (self.headers.get("Host") or "").split(":")[0]
        with site.lock:
            site.hits[host] += 1
            refused = host == "held.test" and site.hits[host] == 1
        # the 429 before the others' answers: the checks of held.test not sent
        # then (beyond `per_host`) are at its gate or in the queue when the hold
        # begins, so their process gives them back
        if host == "held.test":
            time.sleep(REFUSED_AFTER if refused else SERVED_AFTER)
        status, body = (429, b"slow down") if refused else (200, PAGE.encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        if refused:
            self.send_header("Retry-After", site.retry_after)
        self.end_headers()
        self.wfile.write(body)
        with site.lock:
            site.answered[host] += 1


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site(("127.0.0.1", 0), Handler)
    server.hits, server.answered, server.lock = Counter(), Counter(), threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "checker-processes"])
def test_run_once_checks_the_held_hosts_targets_after_the_hold(
    tmp_path: Path, site: Site, workers: int
) -> None:
    """Every target gets one result: the held host's first a 429, its other 7 a
    200 after the hold; none is left due (the interval is an hour), no lease
    is left; exit 0. Before the fix, with checker processes, the 7 had no
    result, were due at the hold's end, and the pass exited 0. ~4.5 s: the
    start, the hold of 2 s, and held.test's answers after it (0.5 s)."""
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"held.test:80:127.0.0.1:{port}", f"news.test:80:127.0.0.1:{port}"],
        workers=workers,
        interval=3600.0,
        retry_interval=3600.0,
        timeout=5.0,
        lease_seconds=60.0,
    )
    corpus = tmp_path / "corpus"
    for n, url in enumerate([*HELD, *OTHERS]):
        (corpus / f"{n}.txt").write_text(article(url))
    done = subprocess.run(
        [CLI, "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=user_env(),
    )
    assert "Traceback" not in done.stderr, done.stderr
    db = tmp_path / "data" / "article-monitor.db"
    rows = query(
        db,
        "SELECT t.url, r.http_status FROM check_results r JOIN targets t"
        " ON t.id = r.target_id ORDER BY t.url, r.checked_at",
    )
    by_url: dict[str, list[int]] = {}
    for url, status in rows:
        by_url.setdefault(url, []).append(status)
    assert sorted(by_url) == sorted([*HELD, *OTHERS]), (by_url, done.stderr)
    statuses = sorted(s for got in by_url.values() for s in got)
    assert statuses == [200] * 11 + [429], by_url  # each target once, one 429
    assert done.returncode == 0, done.stderr
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
    soon = int((time.time() + 600) * 1000)  # an hour's interval: none due within 10 min
    assert query(db, "SELECT count(*) FROM due_queue WHERE due < ?", soon) == [(0,)]


def test_run_once_stopped_while_it_waits_out_a_hold_exits_1(tmp_path: Path, site: Site) -> None:
    """With checker processes, a SIGTERM while the pass waits out `held.test`'s
    hold (`Retry-After: 3600`, capped at `retry_after_max` 60 s) ends it at
    once: exit 1 saying the pass was not whole, no request to the held host
    after the signal, no lease left, the held targets with no result due at the
    hold's end.
    Before the fix the pass ended with exit 0 as soon as the other hosts were
    checked (`waiting` found it ended). ~2.5 s."""
    site.retry_after = "3600"
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"held.test:80:127.0.0.1:{port}", f"news.test:80:127.0.0.1:{port}"],
        workers=2,
        interval=3600.0,
        retry_interval=3600.0,
        timeout=5.0,
        lease_seconds=120.0,
        shutdown_grace=3.0,
    )
    corpus = tmp_path / "corpus"
    for n, url in enumerate([*HELD, *OTHERS]):
        (corpus / f"{n}.txt").write_text(article(url))
    db = tmp_path / "data" / "article-monitor.db"
    daemon = DaemonProcess(config, "--once")

    def waiting() -> bool:
        """The other hosts checked, every answer of the held host recorded (its 429
        and what was sent with it), and the pass still on."""
        with site.lock:
            held = site.answered["held.test"]
        recorded = query(
            db,
            "SELECT count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
            " WHERE t.url LIKE 'http://held.test/%'",
        )
        others = query(db, "SELECT count(DISTINCT target_id) FROM check_results")
        return held >= 1 and recorded == [(held,)] and others == [(held + len(OTHERS),)]

    try:
        wait_for(waiting, BOUND, what=daemon.text)
        assert daemon.proc.poll() is None, daemon.text()  # before: exit 0, done
        with site.lock:
            asked = site.hits["held.test"]
        daemon.signal(signal.SIGTERM)
        code = daemon.wait(BOUND)
    finally:
        daemon.kill()
    text = daemon.text()
    assert code == 1, text
    assert "stopped before every due target was checked" in text
    assert "Traceback" not in text
    assert site.hits["held.test"] == asked  # nothing asked of it after the stop
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]
    # due at the hold's end (60 s at most after the stop), for the next pass then:
    # due now, a member that took the host over asked it before the hold ended
    stopped = int(time.time() * 1000)
    unchecked = query(
        db,
        "SELECT count(*) FROM targets t JOIN due_queue q ON q.target_id = t.id"
        " WHERE t.url LIKE 'http://held.test/%' AND q.due > ? AND q.due <= ?"
        " AND NOT EXISTS (SELECT 1 FROM check_results r WHERE r.target_id = t.id)",
        stopped,
        stopped + 61_000,
    )
    assert unchecked == [(len(HELD) - asked,)], text
