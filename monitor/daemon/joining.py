"""The daemon's membership in the cluster: join, keep beating, leave.

Claims wait for the first heartbeat; a member that takes the lead records a
shared corpus; leaving says so, else the others time this member out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from monitor.daemon import ending
from monitor.daemon.checkers import WorkerHolds
from monitor.http.hostpool import HostPool
from monitor.storage.opening import first_line

if TYPE_CHECKING:
    from monitor.daemon.service import Daemon

log = logging.getLogger("monitor.daemon")

# seconds: the leave's wait for a beat under way, and for its own statement, once
# the stop's budget is spent (a member that leaves spares the others their wait
# of `cluster_timeout` for its hosts)
LEAVE_AT_LEAST = 1.0


async def join(d: Daemon) -> None:
    """First heartbeat (claims wait for it), then one every `cluster_heartbeat`."""
    # the leave's to undo from now: a join cut by a stop (ending.cut_at_stop) may
    # have written our row already, and kept no heartbeats' task to say so
    d._joined = True
    await d.membership.beat_once(d._db_failed)
    if d.membership.clustered:  # the second sees members that started with us
        await asyncio.sleep(d.settings.cluster_heartbeat)
        await d.membership.beat_once(d._db_failed)
    on_beat(d)
    if d.settings.once and d.membership.error is not None:
        d.failure = f"cannot join the cluster: {d.membership.error}"
    d._beating = asyncio.create_task(
        d.membership.keep_beating(
            d._db_failed, lambda: on_beat(d), d.dispatcher.abandon, d.dispatcher.drop_stuck
        ),
        name="heartbeat",
    )


def on_beat(d: Daemon) -> None:
    """After each heartbeat: a new leader's rescan, the leases of the checks in
    flight renewed (dispatch.py `renew`), and the cluster's gauges."""
    if d.dispatcher.inflight and not d.dispatcher.stopping:
        d._spawn(d.dispatcher.renew(), "renew-leases")
    if d.membership.took_lead:
        d.membership.took_lead = False
        if d.settings.corpus_shared and d.scheduler is not None:
            d._spawn(d.rescan(), "rescan")  # a new leader records the shared corpus
    view = d.membership.view
    d.metrics.cluster(
        len(view.live) if view is not None else 0,
        d.membership.leader and d.membership.error is None,
        len(view.stuck) if view is not None else 0,
    )
    hosts = getattr(d.dispatcher.checker, "hosts", None)
    held = 0
    if isinstance(hosts, HostPool | WorkerHolds):
        held = sum(1 for left, _ in hosts.refusing().values() if left > 0)
    d.metrics.held(held, d.dispatcher.deferred)


async def leave(d: Daemon) -> None:
    """Stop beating and say so, unless the daemon never began to join."""
    if not d._joined:
        return
    d._joined = False
    if d._beating is not None:
        d._beating.cancel()
        await asyncio.gather(d._beating, return_exceptions=True)
        d._beating = None
    # a beat under way ends first (bounded, as every stop's wait): leaving beside
    # it, the beat wrote back the row the leave deletes, a stopped member "live".
    # Both waits get what is left of the stop's budget, LEAVE_AT_LEAST at least: a
    # stop whose budget one stuck table spent (the writer's) still left, and did
    # not take a beat under way on another for one stuck
    await ending.threads_ended(d, at_least=LEAVE_AT_LEAST)
    # tracked and bounded too: on the loop's executor, a leave stuck in a statement on
    # a database that stopped answering held the stop, and asyncio.run's end, for good
    left = max(ending.stop_left(d), LEAVE_AT_LEAST)
    try:
        await d.db_threads.run(d.membership.leave, name="cluster leave", within=left)
    except TimeoutError:
        _not_left(d, f"no answer within {round(left, 1):g} s")
    except SQLAlchemyError as exc:
        _not_left(d, first_line(exc))


def _not_left(d: Daemon, why: str) -> None:
    """A daemon on its own (SQLite) has no others to time it out: its row is
    shown as it was until `cluster_timeout` passes."""
    if d.membership.clustered:
        log.warning("could not leave the cluster (%s); the others will time us out", why)
    else:
        log.warning(
            "could not mark this daemon as stopped (%s); `cluster` shows it live until "
            "cluster_timeout passes",
            why,
        )
