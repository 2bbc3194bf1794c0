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
from support.held_stop import BOUND, HANG, held_daemon, stop_held_open

STOP_SCRAPE = 10.0  # seconds: a bound on a hang (the held scrape holds it for HANG)


def scrape(url: str, within: float) -> str:
    with urllib.request.urlopen(url, timeout=within) as resp:
        return str(resp.read().decode())


async def test_a_scrape_in_the_stop_does_not_wait_for_one_held_before_it(
    tmp_path: Path,
) -> None:
    daemon = held_daemon(tmp_path)
    # a scrape takes its own snapshot only while they are cheap (under FRESH_BELOW):
    # on a loaded machine the first took longer, the scrape read none, and the
    # test waited its whole bound for a held read that never came (as
    # test_daemon_stop_reads found); here every snapshot counts as cheap
    daemon.metrics.state._fresh_below = float("inf")
    armed, scraping, gate = (threading.Event() for _ in range(3))

    def hold_scrapes(*_args: Any) -> None:  # a database that stopped answering
        if armed.is_set() and threading.current_thread().name == "metrics-scrape":
            scraping.set()
            gate.wait(HANG)

    event.listen(daemon.engine, "before_cursor_execute", hold_scrapes)

    before: asyncio.Future[str] | None = None
    try:
        async with stop_held_open(daemon, gate) as task:
            assert daemon.server is not None
            url = daemon.server.url + "/metrics"
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
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
