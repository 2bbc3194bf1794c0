"""A dispatcher's stop: the checker processes told at once, then `settle`.

The checker processes are told the moment the stop comes (ProcessChecker.stop);
each answers every check it has not started (requests.py `stop`), and those
claims are given back as the answers come. `settle` waits for a claim in
progress, gives the checks under way the grace period, and gives back the
claims of those that did not finish and of those lost with a checker process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from monitor.daemon.checkers import ProcessChecker

if TYPE_CHECKING:
    from monitor.daemon.dispatch import Dispatcher

log = logging.getLogger("monitor.daemon")


def unqueue(d: Dispatcher) -> None:
    """Tell the checker processes the moment the stop comes, not in `settle`: a
    claim in progress ends first (tens of ms, more under load), and meanwhile
    the processes started ~150 queued requests at concurrency 1024. Each
    answers the checks it has not started (their claims are given back as the
    answers come: `settle`); those not sent yet fail at once (CheckerStopped).
    Which checks a process runs only the process knows: the parent's guess (all
    but each process's oldest share) cut checks under way and left queued ones
    to start after the stop, since a check waiting out a hold aside lets a
    process run more than its share (requests.py `park`)."""
    from monitor.http import Checker  # imported already when it is the checker

    if isinstance(d.checker, ProcessChecker):
        d.checker.stop()
    elif isinstance(d.checker, Checker):
        # in-process: the checks waiting at their host's gate (or for a request
        # slot) with nothing sent leave (HostHeld), their claims kept to give back
        # (dispatch.py `_check_surviving`); they started their requests after the
        # stop as slots freed, and held it for the whole grace
        d.checker.stop_unsent()


async def settle(d: Dispatcher, grace: float) -> None:
    """After a stop: a claim in progress ends, checks in flight get `grace`
    seconds, and the claims of those that did not finish are given back, as
    are those of checks lost with their checker process (left to their
    leases while the daemon ran). The claims of checks a checker process
    answered as not started are given back as they come back, not after the
    grace: a stop cut short by the service manager's SIGKILL left them leased."""
    d.stopping = True  # tells the checker processes
    async with d._claiming:
        pass  # a claim in progress has finished (and given back what came too late)
    giving = asyncio.create_task(_give_back_returned(d), name="give-back-at-stop")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pending: set[asyncio.Future[Any]] = set()
    waited: set[asyncio.Future[Any]] = set()
    try:
        while True:  # again when a check's retry (a new task) took its place
            tasks = [t for t, _ in d.inflight.values() if t not in waited]
            if not tasks:
                break
            waited.update(tasks)
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            if pending:
                break
    except BaseException:  # cut (a database that stopped answering): not waited for
        giving.cancel()
        raise
    d._settled = True
    d._returned.set()  # its last round, then it ends
    await giving
    if pending:
        log.warning("%d checks did not finish in time; they will be redone", len(pending))
        claims = [d.held_as(c) for t, c in d.inflight.values() if t in pending]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await d.give_back(claims)
    if d._lost:  # kept, the next `run --once` found them leased and checked nothing
        await d.give_back(d._lost.take())
    await d.put_off_held()  # a held host's targets not claimed: due at its hold's end


async def _give_back_returned(d: Dispatcher) -> None:
    """Give back the claims kept at the stop (lost.py) as they come: the checks a
    checker process answered as not started, or lost with it, or taken back for
    a hold (the dispatcher's `_keep_lost` wakes this), until `settle` is done."""
    while True:
        await d._returned.wait()
        d._returned.clear()
        if d._lost:
            await d.give_back(d._lost.take())
        if d._settled:
            return
