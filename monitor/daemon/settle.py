"""A dispatcher's stop: queued checks cancelled at once, then `settle`.

The checks queued in checker processes are cancelled the moment the stop
comes; `settle` waits for a claim in progress, gives the checks in flight the
grace period, and gives back the claims of those that did not finish, of the
queued ones cancelled, and of those lost with a checker process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from monitor.daemon.checkers import ProcessChecker
from monitor.storage.repository import Claimed

if TYPE_CHECKING:
    from monitor.daemon.dispatch import Dispatcher

log = logging.getLogger("monitor.daemon")


def unqueue(d: Dispatcher) -> None:
    """Cancel the checks queued in checker processes the moment the stop
    comes, not in `settle`: a claim in progress ends first (tens of ms, more
    under load), and meanwhile the processes started ~150 queued requests at
    concurrency 1024. Their claims are given back in `settle`; so are those
    of checks not sent yet (CheckerStopped: ProcessChecker.stop)."""
    if isinstance(d.checker, ProcessChecker):
        d.checker.stop()
    waiting = queued(d)
    for future, _ in waiting:
        future.cancel()
    if waiting and isinstance(d.checker, ProcessChecker):
        d.checker.send_now()
    d._unqueued += [claim for _, claim in waiting]


def queued(d: Dispatcher) -> list[tuple[asyncio.Future[Any], Claimed]]:
    """The checks still queued in checker processes, as near as the parent
    knows: per process (ProcessChecker.queued). A check tried again after
    its process died (a task here) is waited for with those under way."""
    if not isinstance(d.checker, ProcessChecker):
        return []
    claims = {future: claim for future, claim in d.inflight.values()}
    return [(f, claims[f]) for f in d.checker.queued() if f in claims]


async def settle(d: Dispatcher, grace: float) -> None:
    """After a stop: a claim in progress ends, checks in flight get `grace`
    seconds, and the claims of those that did not finish are given back, as
    are those of checks lost with their checker process (left to their
    leases while the daemon ran)."""
    d.stopping = True  # cancels the checks queued in checker processes
    async with d._claiming:
        pass  # a claim in progress has finished (and given back what came too late)
    if d._unqueued:
        # up to 16x concurrency waited in the checker processes: they would have
        # started them after the stop and held it for the whole grace
        unqueued, d._unqueued = d._unqueued, []
        await d.release(unqueued)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pending: set[asyncio.Future[Any]] = set()
    waited: set[asyncio.Future[Any]] = set()
    while True:  # again when a check's retry (a new task) took its place
        tasks = [t for t, _ in d.inflight.values() if t not in waited]
        if not tasks:
            break
        waited.update(tasks)
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        if pending:
            break
    if pending:
        log.warning("%d checks did not finish in time; they will be redone", len(pending))
        claims = [c for t, c in d.inflight.values() if t in pending]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await d.release(claims)
    if d._lost:  # kept, the next `run --once` found them leased and checked nothing
        await d.release(d._lost.take())
