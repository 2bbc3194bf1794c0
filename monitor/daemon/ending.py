"""How the daemon ends: checks in flight settled, results drained, an exit code.

Exit code: 0 a clean stop; 1 (`--once`) results or the corpus could not be
recorded, or the pass was cut short; 2 the database turned out damaged.
`failure` says why.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from monitor.daemon.service import Daemon

log = logging.getLogger("monitor.daemon")

T = TypeVar("T")


# seconds: the endpoints' requests still open at the stop's end get what is left of
# its budget, this at least (an answer being written, a /healthz)
REQUESTS_AT_LEAST = 0.5


def drain_bound(d: Daemon) -> float:
    """How long the stop waits for the writer, and for database work under way."""
    return max(d.settings.shutdown_grace, 1.0)


def stop_budget(d: Daemon) -> float:
    """How long the stop waits for the database, every wait together: the checks'
    grace and the drain bound, from the stop (or from the shutdown of a pass that
    ended). Each wait bounded on its own added up on a server that stopped
    answering (the settle, the drain, the first scan, the heartbeat, the leave,
    the last snapshot): ~57 s at the defaults, past the shipped units' 30 s."""
    return d.settings.shutdown_grace + drain_bound(d)


def stop_begun(d: Daemon) -> float:
    """When the stop began (monotonic): its budget runs from now, unless it began
    already. Kept by the tracked threads, whose warning counts from then."""
    if d.db_threads.since is None:
        d.db_threads.since = time.monotonic()
    return d.db_threads.since


def stop_left(d: Daemon) -> float:
    """What is left of the stop's budget (0 once spent)."""
    return max(0.0, stop_begun(d) + stop_budget(d) - time.monotonic())


async def threads_ended(d: Daemon, within: float | None = None, *, at_least: float = 0.0) -> bool:
    """The database work under way, waited for within what is left of the stop's
    budget (or `within`, if less; `at_least`, if more); True when none was left
    behind (TrackedThreads)."""
    left = stop_left(d)
    return await d.db_threads.ended(max(at_least, left if within is None else min(within, left)))


async def last_wait(d: Daemon) -> None:
    """The stop's last wait for database work (what was begun since the others,
    within what is left of the budget), then its one warning naming all it left
    behind: given up on at several waits, it was named in a line per wait."""
    await threads_ended(d)
    d.db_threads.name_left()


async def shutdown(d: Daemon) -> None:
    """No new claims; in-flight checks get `shutdown_grace`, the writer drains;
    the cancelled jobs' threads end meanwhile, within the writer's bound."""
    d.dispatcher.stopping = True
    stop_begun(d)  # a pass that ended: its budget begins here
    if d.scheduler is not None:
        d.scheduler.shutdown(wait=False)  # cancels the jobs; their threads run on
        d.scheduler = None
    threads = asyncio.create_task(threads_ended(d, drain_bound(d)), name="jobs-ended")
    try:
        await settled(d)
        # the hosts' holds, before the checker closes: the leave shares them
        d.membership.holds_at_stop()
        if d._damaged:
            return  # nothing more can be written
        try:
            async with asyncio.timeout(stop_left(d)):
                await d.writer.drain()
        except TimeoutError:
            log.error("%d results could not be written before exit", d.writer.backlog)
    finally:
        await threads


async def cut_at_stop(d: Daemon, work: Awaitable[T]) -> T | None:
    """`work` (a step of the start once the signals are the daemon's: the clock's
    sync, the count of targets that chooses the checker, the kept probe answers,
    the join's first heartbeats, a shared corpus's rescan; `run --once`'s pass)
    to its end, and its result (None: cut, or not begun); once a stop came, for
    the drain bound more at most. Each waited for its statement, and one stuck on a
    database that stopped answering held the stop for good; cut, its thread is
    given up on, named in the stop's warning and not waited for again (the
    shutdown's wait took what was left of the budget on it). After a stop it is
    not begun: each step begun then waited the whole bound again on a database
    given up on already."""
    if d._stop.is_set():
        if inspect.iscoroutine(work):
            work.close()  # never awaited: no warning of it
        return None
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(d._stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait([task], timeout=drain_bound(d))
    finally:
        stopped.cancel()
        if not task.done():
            d.db_threads.give_up(task)
            task.cancel()  # a claim under way returns at once (Dispatcher.dispatch)
    await asyncio.gather(task, return_exceptions=True)  # cut: nothing to report
    if task.cancelled():
        return None
    return await task  # its exception, if it raised one


async def settled(d: Daemon) -> None:
    """The dispatcher's settle, within the grace and the drain bound: a claim
    under way, or a give-back, stuck on a database that stopped answering (or
    waiting its turn behind a write that is) held the stop for good. Past the
    bound the checks still in flight are dropped; their claims' leases run out."""
    grace = d.settings.shutdown_grace
    try:
        async with asyncio.timeout(stop_left(d)):
            await d.dispatcher.settle(grace)
    except TimeoutError:
        log.warning(
            "stopping without giving back every claim: the database did not answer "
            "within %g s; their leases run out, and the targets are checked again then",
            stop_budget(d),
        )
        d.dispatcher.abandon()


def exit_code(d: Daemon) -> int:
    """0, 1 or 2 as the module says, setting `failure` to why when it is not 0."""
    if d._damaged:
        return 2
    if d.failure is None and d.settings.once and d.writer.backlog:
        reason = d.writer.error or d.claim_error or "the database did not answer in time"
        d.failure = f"{d.writer.backlog} results could not be recorded: {reason}"
    if d.failure is None and d.settings.once and d.claim_error is not None:
        # the pass ended on a claim that failed: what was due is not checked
        d.failure = f"due targets could not be claimed: {d.claim_error}"
    if d.failure is None and d.settings.once and d.dispatcher.lost:
        d.failure = (
            f"{d.dispatcher.lost} checks were not done: their checker process "
            "ended under them each time"
        )
    failed = d.dispatcher.failed + d.writer.dropped
    if d.failure is None and d.settings.once and failed:
        d.failure = f"{failed} checks failed unexpectedly, not recorded (see the log)"
    if d.failure is None and d.settings.once and d._cut_short:
        # SIGTERM or SIGINT: a pass cut short must not say all was checked
        d.failure = (
            "stopped before every due target was checked; those left are due for the next pass"
            + held_back(d)
        )
    return 0 if d.failure is None else 1


def held_back(d: Daemon) -> str:
    """What a `run --once` stopped in a host's hold says of that host's targets: the
    stop gave them back due at the hold's end (dispatch.py `give_back`), so a pass
    started before then leaves them and exits 0. "Due for the next pass" alone
    sent a script re-running the pass at once to an exit 0 with them unchecked."""
    count, until = d.dispatcher.held_back_at_stop, d.dispatcher.held_back_until
    if not count or until is None:
        return ""
    left = max(0.0, (until - d.dispatcher.now()) / 1000)
    when = datetime.fromtimestamp(time.time() + left, UTC).strftime("%H:%M:%S")
    return (
        f", but {count} of them wait for their hosts' Retry-After or 429/503 hold: "
        f"due again by {when} UTC (in {math.ceil(left)} s), a pass started before then "
        "leaves them"
    )
