"""/metrics during the daemon's stop answers from the last snapshot, even when a
scrape begun before the stop is still held in the database.

A scrape on a small store takes a fresh snapshot, and scrapes meanwhile share
its render (SingleFlight): on a database that stopped answering, one begun
before the stop held every scrape of the stop with it, unanswered until the
stop cut them at its end. The test holds a stop open (a thread of database
work under way, within a long budget) and the scrape's statements.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import event
from support.dispatching import daemon_for
from test_daemon_stop_snapshots import BOUND, HANG, running

STOP_SCRAPE = 10.0  # seconds: a bound on a hang (the held scrape holds it for HANG)


def scrape(url: str, within: float) -> str:
    with urllib.request.urlopen(url, timeout=within) as resp:
        return str(resp.read().decode())


async def test_a_scrape_in_the_stop_does_not_wait_for_one_held_before_it(
    tmp_path: Path,
) -> None:
    daemon = daemon_for(tmp_path)
    # a budget far longer than the test: the held thread holds the stop open
    update = {"listen": "127.0.0.1:0", "shutdown_grace": 300.0}
    daemon.settings = daemon.settings.model_copy(update=update)
    armed, scraping, entered, gate = (threading.Event() for _ in range(4))

    def hold_scrapes(*_args: Any) -> None:  # a database that stopped answering
        if armed.is_set() and threading.current_thread().name == "metrics-scrape":
            scraping.set()
            gate.wait(HANG)

    event.listen(daemon.engine, "before_cursor_execute", hold_scrapes)

    def stuck() -> None:  # database work under way that the stop waits for
        entered.set()
        gate.wait(HANG)

    task = await running(daemon)
    held: asyncio.Task[None] | None = None
    before: asyncio.Future[str] | None = None
    try:
        assert daemon.server is not None
        url = daemon.server.url + "/metrics"
        held = asyncio.create_task(daemon.db_threads.run(stuck, name="rescan"))
        assert await asyncio.to_thread(entered.wait, BOUND)
        armed.set()
        before = asyncio.ensure_future(asyncio.to_thread(scrape, url, BOUND))
        assert await asyncio.to_thread(scraping.wait, BOUND)  # held in the database
        daemon.stop()
        # before: it joined the held scrape, and got no answer until the stop's end
        body = await asyncio.to_thread(scrape, url, STOP_SCRAPE)
        assert "\narticle_monitor_articles 0.0\n" in body, body
        assert not task.done()  # the stop is still under way
        gate.set()
        assert await asyncio.wait_for(task, BOUND) == 0, daemon.failure
    finally:
        gate.set()
        daemon.stop()
        await asyncio.gather(task, return_exceptions=True)
        for left in (held, before):
            if left is not None:
                await asyncio.gather(left, return_exceptions=True)
