"""The metrics' snapshots end when the daemon's stop begins; /metrics answers from
the last one.

The snapshot loop was cancelled only at the stop's end: on a database that
fails fast it logged "metrics: cannot read the database" every 2 s of the
stop, and a scrape on a small store took a fresh snapshot of the database the
stop was giving up on. The test holds a stop open (a thread of database work
under way, within a long budget) with the observing side's reads failing.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from support.held_stop import BOUND, held_daemon, stop_held_open

from monitor.daemon.service import Daemon

CANNOT_READ = "metrics: cannot read the database"


def fail_metrics_reads(daemon: Daemon, failing: threading.Event) -> None:
    """Once `failing` is set, every statement of a metrics thread fails at once
    (a database that fails fast); the daemon's other work is untouched."""

    def fail(*_args: Any) -> None:
        if failing.is_set() and threading.current_thread().name.startswith("metrics-"):
            raise OperationalError("SELECT ...", None, sqlite3.OperationalError("disk I/O error"))

    event.listen(daemon.engine, "before_cursor_execute", fail)


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=BOUND) as resp:
        return str(resp.read().decode())


async def test_the_snapshots_end_when_the_stop_begins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = held_daemon(tmp_path)
    failing, gate = threading.Event(), threading.Event()
    fail_metrics_reads(daemon, failing)
    caplog.set_level(logging.WARNING)
    async with stop_held_open(daemon, gate) as task:
        assert daemon.server is not None and daemon._snapshots is not None
        failing.set()
        caplog.clear()
        daemon.stop()
        # before: it ran on, waiting for its next snapshot, until the stop's end
        await asyncio.wait_for(asyncio.gather(daemon._snapshots, return_exceptions=True), BOUND)
        assert not task.done()  # the stop is still under way
        # the last snapshot's gauges; before: a fresh snapshot (a small store), failed
        body = await asyncio.to_thread(scrape, daemon.server.url + "/metrics")
        assert "\narticle_monitor_articles 0.0\n" in body, body
        said = [r.getMessage() for r in caplog.records if CANNOT_READ in r.getMessage()]
        assert said == []
        gate.set()
        assert await asyncio.wait_for(task, BOUND) == 0, daemon.failure
