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
from support.dispatching import daemon_for

from monitor.daemon.service import Daemon

BOUND = 60.0  # seconds: a bound on a hang, never a timing
HANG = 600.0  # longer than any run of this test: a wait this long is a hang
CANNOT_READ = "metrics: cannot read the database"


async def running(daemon: Daemon) -> asyncio.Task[int]:
    """The daemon running, its scheduler started and its first snapshot taken."""
    task = asyncio.create_task(daemon.run())
    for _ in range(1200):
        if task.done() or (daemon.scheduler is not None and daemon.metrics.state.snapshot()):
            break
        await asyncio.sleep(0.05)
    assert daemon.scheduler is not None and daemon.server is not None, daemon.failure
    return task


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
    daemon = daemon_for(tmp_path)
    # a budget far longer than the test: the held thread holds the stop open
    update = {"listen": "127.0.0.1:0", "shutdown_grace": 300.0}
    daemon.settings = daemon.settings.model_copy(update=update)
    failing, entered, gate = threading.Event(), threading.Event(), threading.Event()
    fail_metrics_reads(daemon, failing)

    def stuck() -> None:  # database work under way that the stop waits for
        entered.set()
        gate.wait(HANG)

    caplog.set_level(logging.WARNING)
    task = await running(daemon)
    held: asyncio.Task[None] | None = None
    try:
        assert daemon.server is not None and daemon._snapshots is not None
        held = asyncio.create_task(daemon.db_threads.run(stuck, name="rescan"))
        assert await asyncio.to_thread(entered.wait, BOUND)
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
    finally:
        gate.set()
        daemon.stop()
        await asyncio.gather(task, return_exceptions=True)
        if held is not None:
            await asyncio.gather(held, return_exceptions=True)
