"""One stop, one warning naming the database work it left behind, on PostgreSQL.

The stop gives up on its database work at several waits (the shutdown's, the
leave's, the last one before the engine is disposed); each logged the threads
it gave up on, so a status read begun once the budget was spent (a request
during the cluster leave) got a second "still under way" line after the
heartbeat's: two warnings for one stop, none of them naming all it left. A
status read begun during the stop now reads nothing (503 "stopping"); one
begun before it, stuck on a lock, is still named with the rest.
"""

from __future__ import annotations

import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import Engine, text
from stop_harness import db_stop_config
from support.pg import lock_waits, pg_daemon_schema

pytestmark = pytest.mark.postgres

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    yield from pg_daemon_schema()


def get_quietly(url: str) -> None:
    """A request the stop cuts short: its answer, or none, is not the point."""
    try:
        with urllib.request.urlopen(url, timeout=BOUND) as resp:
            resp.read()
    except (urllib.error.URLError, OSError):
        pass


def test_work_given_up_at_several_waits_is_named_in_one_warning(
    tmp_path: Path, pg: tuple[str, Engine]
) -> None:
    url, engine = pg
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, cluster_heartbeat=0.2, cluster_timeout=120.0)
        daemon = DaemonProcess(cfg)
        reader: threading.Thread | None = None
        try:
            base = daemon.wait_listening(BOUND)
            wait_for(lambda: "scheduler running" in daemon.text(), BOUND, what=daemon.text)
            holder.begin()
            # a status read waits for the test's lock (one begun during the stop is
            # answered 503 "stopping" without a read since 642c41c: begun before it)
            holder.execute(text("LOCK TABLE targets IN ACCESS EXCLUSIVE MODE"))
            reader = threading.Thread(target=get_quietly, args=(base + "/api/v1/targets",))
            reader.start()
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "targets"), BOUND, what=daemon.text
            )
            # a heartbeat waits: the shutdown gives it up, and the leave waits too
            holder.execute(text("LOCK TABLE cluster_members IN EXCLUSIVE MODE"))
            wait_for(
                lambda: lock_waits(engine, daemon.app_name, "cluster_members"),
                BOUND,
                what=daemon.text,
            )
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(BOUND)
        finally:
            holder.rollback()
            daemon.kill()
            if reader is not None:
                reader.join(BOUND)
    out = daemon.text()
    assert code == 0, out
    assert "Traceback" not in out, out
    left = [line for line in out.splitlines() if "still under way" in line]
    # before a9294fe: a line at each wait that gave work up
    assert len(left) == 1, out
    assert "heartbeat" in left[0] and "status-read" in left[0], out
