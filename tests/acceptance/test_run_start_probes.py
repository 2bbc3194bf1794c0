"""`run` answers /healthz and /readyz from before its database is ready, so
Kubernetes and Docker can tell a long start from a hung one: a start held in
its migration (another process holds the write lock, as a second daemon's
migration would) is alive (/healthz 200) and not ready (/readyz 503
"starting: migrating"), and SIGTERM still ends it as before (exit 130).
`run --once` listens on nothing, start or not."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

from daemon_harness import CLI, one_article_corpus, user_env, wait_for

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade

LOOPBACK = ["--listen", "127.0.0.1:0"]
EARLY = re.compile(r"answering /healthz and /readyz at http://127\.0\.0\.1:(\d+)")


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def test_a_start_held_in_its_migration_is_alive_not_ready_and_stops(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    db = data / "article-monitor.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine, "0009")  # one revision behind: the start migrates it
    engine.dispose()
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's migration, under way
    log = tmp_path / "run.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            # --log-level debug: the early listening line is a debug line
            [CLI, "run", str(corpus), "--data-dir", str(data), "--log-level", "debug", *LOOPBACK],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=user_env(),
        )
    try:
        found = wait_for(lambda: EARLY.search(log.read_text()), 60, what=log.read_text)
        port = int(found.group(1))
        ready = wait_for(lambda: "migrating" in _get(port, "/readyz")[1], 60, what=log.read_text)
        assert ready
        status, body = _get(port, "/readyz")
        # loopback without credentials: every caller may read the detail
        assert status == 503 and json.loads(body) == {
            "ready": False,
            "status": "starting: migrating",
        }
        assert _get(port, "/healthz") == (200, "ok\n")  # waiting on a migration is progress
        assert _get(port, "/metrics")[0] == 503
        assert "serving /metrics" not in log.read_text()  # still held
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)  # the migration's wait ends at a stop (test_migration_wait_stops)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        other.execute("ROLLBACK")
        other.close()
    text = log.read_text()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "was destroyed" not in text, text
    with socket.socket() as probe:  # nothing listens any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_run_once_listens_on_nothing(tmp_path: Path) -> None:
    """A port already taken is no error for `run --once`: it serves nothing."""
    corpus = one_article_corpus(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        offline = ["--listen", f"127.0.0.1:{port}", "--connect-to", "::127.0.0.1:1"]
        done = subprocess.run(
            [CLI, "run", str(corpus), "--once", "--data-dir", str(tmp_path / "data"), *offline],
            capture_output=True,
            text=True,
            timeout=120,
            env=user_env(),
        )
    assert done.returncode == 0, done.stderr
    assert "answering /healthz" not in done.stderr and "serving /metrics" not in done.stderr
