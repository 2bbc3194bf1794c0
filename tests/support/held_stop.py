"""A daemon in-process whose stop is held open: database work under way (a
`rescan` thread waiting on a gate) that the stop waits for, with a budget far
longer than the test. What the endpoints answer meanwhile is what the stop
tests look at."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from monitor.daemon.service import Daemon
from support.dispatching import daemon_for

BOUND = 60.0  # seconds: a bound on a hang, never a timing
HANG = 600.0  # longer than any run of these tests: a wait this long is a hang


def held_daemon(tmp_path: Path) -> Daemon:
    """A daemon over an empty corpus, listening on a free port, whose stop's
    budget (300 s) outlasts the test: the held thread holds its stop open."""
    daemon = daemon_for(tmp_path)
    update = {"listen": "127.0.0.1:0", "shutdown_grace": 300.0}
    daemon.settings = daemon.settings.model_copy(update=update)
    return daemon


async def running(daemon: Daemon) -> asyncio.Task[int]:
    """The daemon running, its scheduler started and its first snapshot taken."""
    task = asyncio.create_task(daemon.run())
    for _ in range(1200):
        if task.done() or (daemon.scheduler is not None and daemon.metrics.state.snapshot()):
            break
        await asyncio.sleep(0.05)
    assert daemon.scheduler is not None and daemon.server is not None, daemon.failure
    return task


@asynccontextmanager
async def stop_held_open(daemon: Daemon, gate: threading.Event) -> AsyncIterator[asyncio.Task[int]]:
    """The daemon running (its task), a `rescan` thread under way until `gate`
    is set; at the end the gate is set, the daemon stopped and awaited."""
    entered = threading.Event()

    def stuck() -> None:  # database work under way that the stop waits for
        entered.set()
        gate.wait(HANG)

    task = await running(daemon)
    held = asyncio.create_task(daemon.db_threads.run(stuck, name="rescan"))
    try:
        assert await asyncio.to_thread(entered.wait, BOUND)
        yield task
    finally:
        gate.set()
        daemon.stop()
        await asyncio.gather(task, held, return_exceptions=True)
