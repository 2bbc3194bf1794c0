"""The daemon's scheduled jobs: dispatch, corpus rescan, maintenance, checkpoint.

The schedule itself is in the database (each target's next due time); these
jobs only say how often to look. A job that the stop's cancellation ends is
quiet about it; a database error goes through the daemon's `_db_failed`, so a
damaged file stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial, wraps
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import ConfigError, Settings
from monitor.corpus.files import SUFFIXES
from monitor.daemon.cluster_settings import beat_warning, lease_warning
from monitor.daemon.maintenance import run_maintenance
from monitor.daemon.reload_scope import kept_until_restart
from monitor.daemon.rescan_retry import transient
from monitor.daemon.scan import ScanStopped
from monitor.install import cannot_import
from monitor.observe.logs import EVERY
from monitor.vocabulary import Kind

if TYPE_CHECKING:
    from monitor.daemon.service import Daemon

log = logging.getLogger("monitor.daemon")

MAINTENANCE_TICK = 60.0  # how often the leader asks whether a period's run is due
CHECKPOINT_INTERVAL = 5.0


def dispatch_tick(settings: Settings) -> float:
    """How often to look for due targets: often enough for the shortest interval."""
    shortest = min(settings.interval_for(k) for k in Kind)
    return min(1.0, max(0.05, shortest / 4))


def maintenance_tick(settings: Settings) -> float:
    """How often the leader asks whether maintenance is due."""
    return min(MAINTENANCE_TICK, max(0.5, settings.maintenance_interval / 4))


def retime(d: Daemon) -> None:
    """Give the periodic jobs the periods of the settings a reload brought: they were
    fixed at the start, so a new `rescan_interval` (an hour to a minute, say) was
    said reloaded and left documents added meanwhile unread until the restart."""
    sched = d.scheduler
    if sched is None or not sched.running:
        return  # not started yet: it starts with the new settings
    periods = {
        "dispatch": dispatch_tick(d.settings),
        "rescan": d.settings.rescan_interval,
        "maintenance": maintenance_tick(d.settings),
    }
    for job_id, seconds in periods.items():
        job = sched.get_job(job_id)
        if job is not None and job.trigger.interval.total_seconds() != seconds:
            sched.reschedule_job(job_id, trigger="interval", seconds=seconds)


def start_scheduler(d: Daemon) -> AsyncIOScheduler:
    sched = AsyncIOScheduler()
    common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    sched.add_job(
        d.dispatch, "interval", seconds=dispatch_tick(d.settings), id="dispatch", **common
    )
    sched.add_job(
        quiet_on_stop(d, d.rescan),
        "interval",
        seconds=d.settings.rescan_interval,
        id="rescan",
        **common,
    )
    tick = maintenance_tick(d.settings)
    maintenance = quiet_on_stop(d, d.maintenance)
    sched.add_job(maintenance, "interval", seconds=tick, id="maintenance", **common)
    checkpoint = quiet_on_stop(d, d.checkpoint)
    sched.add_job(checkpoint, "interval", seconds=CHECKPOINT_INTERVAL, id="checkpoint", **common)
    sched.start()
    return sched


def quiet_on_stop(d: Daemon, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """`job` as a scheduled job that the stop's cancellation ends quietly: the
    scheduler's shutdown cancels its running jobs, and a job awaiting its thread
    was logged as a job's traceback. The thread's work runs to its end, which
    the stop waits for, bounded (tracked_threads.py)."""

    @wraps(job)
    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            if not d.dispatcher.stopping:
                raise

    return run


async def rescan(d: Daemon, *, force: bool = False, now: int | None = None) -> None:
    """Read the corpus again and record what changed (the leader's, if shared)."""
    if not d.membership.scans_corpus():
        return  # a shared corpus: the leader records it (docs/scaling.md)
    async with d._scan_lock:
        if d.dispatcher.stopping:  # queued behind a scan (SIGHUP's), then stopped
            return
        started = time.monotonic()
        try:
            stamp = d.membership.now() if now is None else now  # the cluster's clock
            d.scan_stamp = stamp if d.scan_stamp is None else max(d.scan_stamp, stamp)
            scan = partial(d.scanner.scan, force=force, now=stamp, clock=d.membership.now)
            report = await d.db_threads.run(scan, name="rescan")
        except ScanStopped:
            log.info("corpus scan stopped midway; what it did not read is read at the next start")
            return
        except SQLAlchemyError as exc:
            error = d._db_failed(exc)
            if error != d.scan_error:  # once per cause, not at every rescan or retry
                log.error("corpus rescan cannot write to the database: %s; will retry", error)
            d.scan_error = error
            if transient(exc) and not d.settings.once and not d._stop.is_set():
                delay = d.scan_retry.failed(force=force)
                if delay is not None:
                    log.debug("corpus rescan retried in %.0fs", delay)
            return
        except Exception as exc:  # a bug: say so, and fail readiness until a scan succeeds
            broken = cannot_import(exc)  # a package missing (the start imports those it knows)
            error = broken or f"rescan failed ({type(exc).__name__})"
            if error != d.scan_error and broken is not None:  # the install's, not a bug: one line
                log.error("corpus rescan failed: %s; will retry", broken)
                log.debug("the rescan's error", exc_info=True)
            elif error != d.scan_error:
                log.exception("corpus rescan failed; will retry")
            d.scan_error = error
            return
        d.scan_retry.succeeded(force=force)
        if report.clock_back:  # what it stored before it saw the step: walked again
            d.membership.walk_again()
        if d.scan_error is not None:
            log.info("the corpus is recorded again", extra=EVERY)
            d.scan_error = None
        previous, d.last_scan = d.last_scan, report
        if report.files == 0 and not report.problems and (previous is None or previous.files):
            # `check` says it too: a mistyped folder is not a healthy corpus
            log.warning(
                "no documents found under %s (searched for %s); nothing to check",
                " ".join(str(p) for p in d.settings.paths),
                " ".join(f"*{suffix}" for suffix in sorted(SUFFIXES)),
            )
        if report.changed or report.removed or force:
            log.info(
                "corpus scanned in %.2fs: %d files, %d changed, %d removed, %d invalid records%s",
                time.monotonic() - started,
                report.files,
                report.changed - report.reread,
                report.removed,
                report.invalid,
                f", {report.reread} read again unchanged" if report.reread else "",
            )


async def maintenance(d: Daemon) -> None:
    """Only on the cluster's leader, once per `maintenance_interval`. On SQLite
    each tick first keeps the honest time for the next start (wall_mark.py)."""
    try:
        if d.repo.dialect != "postgresql":  # the honest time, for the next start
            await d.db_threads.run(d._wall.store, d.repo, name="maintenance")
        # the claim and the run on one thread: a stop cancels the job, not the thread
        await d.db_threads.run(claimed_run, d, name="maintenance")
    except SQLAlchemyError as exc:
        error = d._db_failed(exc)
        log.error("maintenance could not use the database: %s; will retry", error)
        with contextlib.suppress(SQLAlchemyError):  # a database still down: next period
            await d.db_threads.run(d.membership.maintenance_failed, name="maintenance")


def claimed_run(d: Daemon) -> None:
    """This period's maintenance, if this member may claim it (on the job's thread).

    A stop that came once the claim was committed gives it back: the stop had
    cancelled the job between its claim and its run, the claim stayed and the
    run never came, and the next leader waited a whole `maintenance_interval`.
    A run that fails once the job is cancelled gives it back too (the job, which
    does so otherwise, is no longer there)."""
    s = d.settings
    if not d.membership.maintenance_due():
        return
    if d.dispatcher.stopping:
        d.membership.maintenance_failed()
        log.info("maintenance: stopping; this period's run is left to the next start or leader")
        return
    # SQLite: one daemon, no cluster to name
    leader = " as the cluster's leader" if d.repo.dialect == "postgresql" else ""
    log.info("maintenance: running%s", leader)
    try:
        run_maintenance(
            d.repo,
            d.membership.now(),
            retention_days=s.retention_days,
            rollup_retention_days=s.rollup_retention_days,
            bound=d._wall,
        )
    except SQLAlchemyError:
        if d.dispatcher.stopping:
            with contextlib.suppress(SQLAlchemyError):
                d.membership.maintenance_failed()
        raise


async def checkpoint(d: Daemon) -> None:
    """Keep the SQLite WAL short, on a thread of its own (not the writer's); and
    stop if the file was deleted or replaced under the daemon (OpenedFile)."""
    if d.sqlite_lock is not None:  # removed while held: made again (sqlite_lock.py)
        await d.db_threads.run(d.sqlite_lock.renew, name="checkpoint")
    gone = None if d._file is None else await d.db_threads.run(d._file.gone, name="checkpoint")
    if gone is not None and not d._damaged:
        d._damaged = True
        d.failure = gone
        log.critical("stopping: %s", gone, extra=EVERY)
        d.stop()
        return
    try:
        await d.db_threads.run(d.repo.checkpoint, name="checkpoint")
    except SQLAlchemyError as exc:
        log.warning("WAL checkpoint failed: %s", d._db_failed(exc))


async def reload(d: Daemon) -> None:
    """SIGHUP: new settings and keys, then every document read again."""
    if d._reload is not None:
        try:
            settings, keyring = d._reload()
            if not settings.paths:  # as `run` refuses at its start: taken, it retired the corpus
                raise ConfigError("no PATH given (and no `paths` in the config file)")
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc, extra=EVERY)
            return
        except Exception as exc:  # a broken install or a defect, not the operator's files
            # said as a refusal too: it escaped the task, and asyncio printed a
            # traceback at the next collection ("Task exception was never retrieved")
            # with nothing saying the running configuration was kept (R30)
            log.error(
                "reload refused, keeping the running configuration: unexpected %s: %s",
                type(exc).__name__,
                exc,
                extra=EVERY,
            )
            log.debug("the reload's error", exc_info=True)
            return
        settings = kept_until_restart(d.settings, settings)
        d.settings = settings
        d.keyring = keyring
        d.scanner.settings = settings
        d.scanner.keyring = keyring
        retime(d)
        # which settings apply now and which on restart: reload_scope.py, docs/operations.md
        log.info("configuration reloaded", extra=EVERY)
        if d.membership.clustered:  # as at the start (cluster.py), with the running timeout
            for why in (lease_warning(settings), beat_warning(settings)):
                if why:
                    log.warning("cluster: %s", why, extra=EVERY)
        else:
            alone = lease_warning(settings, clustered=False)
            if alone:
                log.warning("%s", alone, extra=EVERY)
    await d.rescan(force=True)
