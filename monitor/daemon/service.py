"""The daemon: APScheduler jobs around one checker, one writer and the database.

Jobs (AsyncIOScheduler): a dispatch tick that claims due targets and starts
their checks; a corpus rescan; maintenance (rollups and retention). The
schedule itself is in the database (each target's next due time), so a
restart, or a second daemon on the same PostgreSQL, carries on from there.

Signals: SIGTERM/SIGINT stop claiming, let in-flight checks finish within
`shutdown_grace`, give back the claims of those that did not, flush the
writer and exit 0. SIGHUP reloads the configuration and re-reads the corpus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial, wraps
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from monitor.check.pool import SupportsCheck
from monitor.config import ConfigError, Settings
from monitor.daemon.checkers import checker_for
from monitor.daemon.cluster import Membership
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.maintenance import WallSince, run_maintenance
from monitor.daemon.notify import READY, bytes_read, notify, start_extended
from monitor.daemon.outcome import Policy, decide, policy_for
from monitor.daemon.prestart import Prestarted, release_reloads
from monitor.daemon.probes import keep_probe_answers
from monitor.daemon.readiness import Health, judge
from monitor.daemon.rescan_retry import ScanRetry, transient
from monitor.daemon.scan import CorpusScanner, ScanReport, ScanStopped
from monitor.daemon.state import State
from monitor.daemon.unjoined import unjoined
from monitor.daemon.writer import ResultWriter, latency_ms, record_of
from monitor.http import Checker
from monitor.http.tls import make_ssl_context
from monitor.observe.endpoints import MetricsServer
from monitor.observe.logs import redact_url
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.starting import CHECKING, MIGRATING, StartWatch
from monitor.secured.keys import KeyRing
from monitor.storage.migrate import upgrade
from monitor.storage.opening import (
    DatabaseUnusable,
    OpenedFile,
    check,
    explain,
    explain_damage,
    first_line,
    is_damage,
    open_database,
    refuse_read_only,
    remove_unused,
    shown_url,
)
from monitor.storage.repository import Claimed, Repository
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

T = TypeVar("T")

MAINTENANCE_TICK = 60.0  # how often the leader asks whether a period's run is due
CHECKPOINT_INTERVAL = 5.0
PING_TIMEOUT = 2.0


def dispatch_tick(settings: Settings) -> float:
    """How often to look for due targets: often enough for the shortest interval."""
    shortest = min(settings.interval_for(k) for k in Kind)
    return min(1.0, max(0.05, shortest / 4))


def _uncounted() -> None:
    """No measure of progress: the start is extended for an hour at most."""
    return None


class Daemon:
    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing,
        *,
        reload: Callable[[], tuple[Settings, KeyRing]] | None = None,
        rng: random.Random | None = None,
        prestarted: Prestarted | None = None,
        starting: StartWatch | None = None,
    ) -> None:
        # checker processes spawned before the imports (prestart.py): the checker
        # adopts them, or they are let go; a daemon that stops before then lets them go
        self._prestarted = prestarted or Prestarted()
        self._mask: set[int | signal.Signals] | None = None  # before the SIGHUP handler
        self.settings = settings
        self.keyring = keyring
        self._reload = reload
        self._rng = rng or random.Random()  # our own: next-due jitter, never the global state
        # a file this start made: removed if the start fails before recording into it
        self._created: Path | None = None
        # the start's phase and progress, for /healthz and /readyz while it runs
        self.starting = starting or StartWatch()
        self.engine = open_database(
            settings.database_url(), create=True, verify=False, created=self._made
        )
        self.repo = Repository(self.engine)
        self._wall = WallSince()  # retention never follows a wall clock that jumped ahead
        # the cycle lag on the clock due times are set by (a member's own may run ahead)
        self.metrics = DaemonMetrics(self.repo.snapshot, clock_ms=lambda: self.membership.now())
        self.scanner = CorpusScanner(self.repo, settings, keyring)
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self.writer = ResultWriter(partial(self._db, self.repo.record), on_error=self._db_failed)
        self.membership = Membership(
            self.repo,
            lambda: self.settings,
            in_flight=lambda: [c.url for _, c in self.dispatcher.inflight.values()],
            hosts=lambda: self._checker.hosts if isinstance(self._checker, Checker) else None,
            claiming=lambda: self.dispatcher.claiming,
            held=lambda: len(self.dispatcher.inflight) + self.writer.backlog,
            recorded=lambda: self.writer.committed,
        )
        self._beating: asyncio.Task[None] | None = None
        self.dispatcher = Dispatcher(
            settings=lambda: self.settings,
            repo=self.repo,
            db=self._db,
            writer=self.writer,
            finish=self._finish,
            db_failed=self._db_failed,
            spawn=self._spawn,
            clock=self.membership.now,
            scope=self.membership.scope,
        )
        self._stop = asyncio.Event()
        self._cut_short = False  # `--once` stopped (a signal) before its pass ended
        self.scheduler: AsyncIOScheduler | None = None
        self.server: MetricsServer | None = None
        self.last_scan: ScanReport | None = None
        self.scan_error: str | None = None  # the last rescan could not record the corpus
        # why the daemon stopped on its own (a damaged database, results lost in --once)
        self.failure: str | None = None
        self._scan_lock = asyncio.Lock()
        # a scan failed by a full disk or a lock: tried again soon, not at the next interval
        self.scan_retry = ScanRetry(
            lambda force: self.rescan(force=force),
            self._stop,
            lambda: self.settings.rescan_interval,
        )
        self._bg: set[asyncio.Task[Any]] = set()
        # one reload at a time, and at most one waiting: SIGHUPs meanwhile are that one
        self._reload_lock = asyncio.Lock()
        self._reload_waiting = False
        self._snapshots: asyncio.Task[None] | None = None
        self._damaged = False
        self._file: OpenedFile | None = None
        self._tls: ssl.SSLContext | None = None  # --ca-bundle's, loaded once at the start
        self._policies: tuple[Settings, dict[Kind, Policy]] = (settings, {})

    # -- plumbing

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Claims and writes run on one thread: one writer per process."""
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, fn, *args)

    @property
    def _inflight(self) -> dict[int, tuple[asyncio.Future[Any], Claimed]]:
        return self.dispatcher.inflight

    @property
    def _checker(self) -> SupportsCheck | None:
        return self.dispatcher.checker

    @_checker.setter
    def _checker(self, checker: SupportsCheck | None) -> None:
        self.dispatcher.checker = checker

    @property
    def _stopping(self) -> bool:
        return self.dispatcher.stopping

    @property
    def claim_error(self) -> str | None:
        return self.dispatcher.claim_error

    async def dispatch(self, *, cutoff: int | None = None) -> int:
        """Claim due targets up to the free capacity and start their checks."""
        return await self.dispatcher.dispatch(cutoff=cutoff)

    # -- lifecycle

    async def run(self) -> int:
        """Run until stopped (or, with `once`, until everything due was checked).

        Exit code: 0 a clean stop; 1 (`--once`) results or the corpus could
        not be recorded; 2 the database turned out damaged while running.
        `failure` says why. A database or listen address unusable at start
        raises DatabaseUnusable or ConfigError instead: nothing was started.
        """
        s = self.settings
        first_scan: asyncio.Task[None] | None = None
        opened = False
        try:
            await self._open()
            opened = True
            if self.repo.dialect != "postgresql":  # before anything is recorded
                self._wall = await asyncio.to_thread(WallSince.at_start, self.repo)
            self._install_signals()
            if not s.once:  # systemd (Type=notify): started, and a reload is handled now
                notify(READY)
            self.writer.start()
            # checking starts while the corpus is still being stored (issue 16): all
            # it stores is due at `now`, before run_once's cutoff
            # stamped with the cluster's clock (the database's), as due times and the
            # cutoff are: this machine's may run ahead of it (then none was due)
            with contextlib.suppress(SQLAlchemyError):  # the first heartbeat says why
                await asyncio.to_thread(self.membership.sync_clock)
            first_scan = asyncio.create_task(
                self.rescan(now=self.membership.now()), name="first-scan"
            )
            if self.failure is None:
                checking = await checker_for(s, self.repo, self._prestarted, self._tls)
                async with checking as checker:
                    if isinstance(checker, Checker):  # checker processes: see checkers.py
                        checker.text_hash = s.text_drift  # pages' text marks (own drift)
                        if checker.probe is not None:  # its answers outlive a restart
                            await keep_probe_answers(checker.probe, self.repo, self._db)
                    self._checker = checker
                    await self._join()
                    if s.corpus_shared:  # only now is it known whether this member leads
                        await self.rescan()
                    if s.once:
                        if self.failure is None:
                            await self.dispatcher.run_once(first_scan)
                            self._cut_short = self._stop.is_set()
                        if self.scan_error is not None and self.failure is None:
                            self.failure = f"the corpus could not be recorded: {self.scan_error}"
                    else:
                        self._start_scheduler()
                        await self._stop.wait()
                    await self._shutdown()
        finally:
            self._prestarted.discard()  # not taken: the daemon stopped before checking
            self._remove_signals()
            await self.scan_retry.close()
            if first_scan is not None:  # its thread cannot be stopped: let it end
                await asyncio.gather(first_scan, return_exceptions=True)
            await self._leave()
            await self.writer.stop()
            if self.server is not None:
                await self.server.stop()
            if self._snapshots is not None:
                self._snapshots.cancel()
                await asyncio.gather(self._snapshots, return_exceptions=True)
            self._db_pool.shutdown(wait=True)
            self.engine.dispose()
            if not opened and self._created is not None:  # a failed start leaves no file
                await asyncio.to_thread(remove_unused, self._created)
        code = self._exit_code()
        if code:
            log.error("stopped: %s", self.failure)
        else:
            log.info("stopped")
        return code

    def _made(self, path: Path) -> None:
        self._created = path

    def _start_extended(
        self, progress: Callable[[], int | None], phase: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """`run --once` is no service's main process (it never says READY=1): it
        asks no manager for more start time, nor sets a unit's status line."""
        if self.settings.once:
            return contextlib.nullcontext()
        return start_extended(progress, status=phase)

    async def _open(self) -> None:
        """Listen, check and migrate the database, then serve every path; raise if
        any cannot. Listening first: probes tell a long start from a hung one
        (observe/starting.py), and a bad listen address still fails at once."""
        s = self.settings
        url = s.database_url()
        if s.ca_bundle is not None:  # a bad bundle is refused before anything starts
            self._tls = make_ssl_context(s.ca_bundle)
        sqlite = self.engine.dialect.name == "sqlite"
        self.starting.begin(CHECKING, bytes_read if sqlite else None)
        if not s.once:
            await self._serve()
        started = time.monotonic()
        # the start timeout is kept while the check reads on (PostgreSQL: an hour at most)
        async with self._start_extended(bytes_read if sqlite else _uncounted, CHECKING):
            # SQLite: ~1 s per 70 MB; a stop leaves it behind (it only reads), as
            # waiting for it outlasted Kubernetes' grace period (unjoined.py)
            await unjoined(check, self.engine, url, name="database-check")
        self._file = OpenedFile.of(url)  # watched by the checkpoint job
        checked = time.monotonic() - started
        self.starting.begin(MIGRATING)  # progress while it runs, as for systemd
        # ... and while it migrates: a migration waits up to MIGRATION_WAIT_MS for
        # another process's, reading nothing, and ends or fails within it
        async with self._start_extended(_uncounted, MIGRATING):
            stop = threading.Event()  # a stop (the task cancelled) ends the wait for
            try:  # another process's migration, up to 5 min in a thread asyncio.run joins
                await asyncio.to_thread(upgrade, self.engine, stop=stop)
                await asyncio.to_thread(refuse_read_only, self.engine, url)
            except SQLAlchemyError as exc:
                raise DatabaseUnusable(explain(exc, url)) from None
            finally:
                stop.set()
        self.starting.done()
        if self.server is not None:
            self.server.serving()
            # gauges: a snapshot in the background; scrapes read the last one
            self._snapshots = asyncio.create_task(self.metrics.keep_fresh(), name="snapshots")
        log.info("database %s (checked in %.1fs)", shown_url(url), checked)

    async def _serve(self) -> None:
        s = self.settings
        self.server = MetricsServer.for_settings(self.metrics, self.readiness, s, repo=self.repo)
        self.server.starting = self.starting
        try:
            await self.server.start()
        except (OSError, OverflowError) as exc:
            self.server = None
            errno = getattr(exc, "errno", None)
            reason = os.strerror(errno) if errno else str(exc)
            raise ConfigError(f"cannot listen on {s.listen}: {reason}") from None

    def _exit_code(self) -> int:
        if self._damaged:
            return 2
        if self.failure is None and self.settings.once and self.writer.backlog:
            reason = self.writer.error or self.claim_error or "the database did not answer in time"
            self.failure = f"{self.writer.backlog} results could not be recorded: {reason}"
        if self.failure is None and self.settings.once and self.claim_error is not None:
            # the pass ended on a claim that failed: what was due is not checked
            self.failure = f"due targets could not be claimed: {self.claim_error}"
        if self.failure is None and self.settings.once and self.dispatcher.lost:
            self.failure = (
                f"{self.dispatcher.lost} checks were not done: their checker process "
                "ended under them each time"
            )
        failed = self.dispatcher.failed + self.writer.dropped
        if self.failure is None and self.settings.once and failed:
            self.failure = f"{failed} checks failed unexpectedly, not recorded (see the log)"
        if self.failure is None and self.settings.once and self._cut_short:
            # SIGTERM or SIGINT: a pass cut short must not say all was checked
            self.failure = (
                "stopped before every due target was checked; those left are due for the next pass"
            )
        return 0 if self.failure is None else 1

    def _db_failed(self, exc: SQLAlchemyError) -> str:
        """Every database error of a job comes here: a damaged file stops the
        daemon (retrying cannot mend it, writing on may harm what is left)."""
        if is_damage(exc) and not self._damaged:
            self._damaged = True
            self.failure = explain_damage(exc, self.settings.database_url())
            log.critical("stopping: %s", self.failure)
            self.stop()
        return first_line(exc)

    def stop(self) -> None:
        if not self._stop.is_set():
            log.info("stopping: no new claims; waiting for checks in flight")
            if not self.settings.once:
                notify("STOPPING=1")
        self.dispatcher.stopping = True
        self.scanner.stopping = True  # a pass under way ends at its next article
        self._stop.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        # held since `run` began (daemon/prestart.py): one that came meanwhile reloads now
        self._mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        if self._mask is not None:  # stopping: a SIGHUP now is not a death
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if self._mask is not None:
            release_reloads(self._mask)
            self._mask = None

    def _on_hup(self) -> None:
        """A reload, unless one is already waiting its turn: that one reads the
        configuration when it begins, so it covers this SIGHUP too. Each SIGHUP
        queued a whole forced rescan: 20 sent 50 ms apart kept a 1,500-file
        corpus re-read for a minute."""
        if self._reload_waiting:
            return
        self._reload_waiting = True
        self._spawn(self._reload_in_turn(), "reload")

    async def _reload_in_turn(self) -> None:
        async with self._reload_lock:
            self._reload_waiting = False  # begun: a SIGHUP from now on may change more
            await self.reload()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run `coro` in the background, kept alive (and awaited at stop) in `_bg`."""
        task = asyncio.create_task(coro, name=name)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    def _start_scheduler(self) -> None:
        sched = AsyncIOScheduler()
        common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        sched.add_job(
            self.dispatch, "interval", seconds=dispatch_tick(self.settings), id="dispatch", **common
        )
        sched.add_job(
            self._quiet_on_stop(self.rescan),
            "interval",
            seconds=self.settings.rescan_interval,
            id="rescan",
            **common,
        )
        tick = min(MAINTENANCE_TICK, max(0.5, self.settings.maintenance_interval / 4))
        maintenance = self._quiet_on_stop(self.maintenance)
        sched.add_job(maintenance, "interval", seconds=tick, id="maintenance", **common)
        checkpoint = self._quiet_on_stop(self.checkpoint)
        sched.add_job(
            checkpoint, "interval", seconds=CHECKPOINT_INTERVAL, id="checkpoint", **common
        )
        sched.start()
        self.scheduler = sched
        log.info(
            "scheduler running: %d checks in flight at most, down after %d failures",
            self.settings.concurrency,
            self.settings.down_after,
        )

    def _quiet_on_stop(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`job` as a scheduled job that the stop's cancellation ends quietly: the
        scheduler's shutdown cancels its running jobs, and a job awaiting its thread
        (whose work still runs to its end) was logged as a job's traceback."""

        @wraps(job)
        async def run() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                if not self.dispatcher.stopping:
                    raise

        return run

    async def _shutdown(self) -> None:
        self.dispatcher.stopping = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.dispatcher.settle(self.settings.shutdown_grace)
        if self._damaged:
            return  # nothing more can be written
        try:
            async with asyncio.timeout(max(self.settings.shutdown_grace, 1.0)):
                await self.writer.drain()
        except TimeoutError:
            log.error("%d results could not be written before exit", self.writer.backlog)

    # -- the cluster

    async def _join(self) -> None:
        """First heartbeat (claims wait for it), then one every `cluster_heartbeat`."""
        await self.membership.beat_once(self._db_failed)
        if self.membership.clustered:  # the second sees members that started with us
            await asyncio.sleep(self.settings.cluster_heartbeat)
            await self.membership.beat_once(self._db_failed)
        self._on_beat()
        if self.settings.once and self.membership.error is not None:
            self.failure = f"cannot join the cluster: {self.membership.error}"
        self._beating = asyncio.create_task(
            self.membership.keep_beating(
                self._db_failed, self._on_beat, self.dispatcher.abandon, self.dispatcher.abandon
            ),
            name="heartbeat",
        )

    def _on_beat(self) -> None:
        if self.membership.took_lead:
            self.membership.took_lead = False
            if self.settings.corpus_shared and self.scheduler is not None:
                self._spawn(self.rescan(), "rescan")  # a new leader records the shared corpus
        view = self.membership.view
        self.metrics.cluster(
            len(view.live) if view is not None else 0,
            self.membership.leader and self.membership.error is None,
            len(view.stuck) if view is not None else 0,
        )

    async def _leave(self) -> None:
        if self._beating is None:
            return
        self._beating.cancel()
        await asyncio.gather(self._beating, return_exceptions=True)
        self._beating = None
        try:
            await asyncio.to_thread(self.membership.leave)
        except SQLAlchemyError as exc:
            log.warning("could not leave the cluster (%s); the others will time us out", exc)

    # -- jobs

    def _policy(self, kind: Kind) -> Policy:
        """`policy_for`, once per kind and settings (SIGHUP swaps the settings):
        built per check it was 3% of the daemon's CPU."""
        settings, policies = self._policies
        if settings is not self.settings:
            settings, policies = self._policies = (self.settings, {})
        policy = policies.get(kind)
        if policy is None:
            policy = policies[kind] = policy_for(settings, kind)
        return policy

    def _finish(self, claim: Claimed, result: CheckResult) -> None:
        """Act on the pure decision: queue the record, count the metric, log."""
        decision = decide(claim.state, claim.refs, result, self._policy(claim.kind), self._rng)
        m = self.membership  # the check was timed by this machine's clock: the cluster's
        self.writer.put(record_of(claim, result, decision, m.now(), m.offset_ms))
        self.membership.note_check()
        seconds = None if result.latency_ms is None else result.latency_ms / 1000
        self.metrics.observe(claim.kind, result.outcome, seconds)
        moved = decision.step
        level = logging.DEBUG  # a new target's first check (unknown -> up) is not news
        if moved.changed and not (
            moved.before.state is State.UNKNOWN and moved.after.state is State.UP
        ):
            level = logging.WARNING if moved.after.state is State.DOWN else logging.INFO
        if not log.isEnabledFor(level):
            return  # most checks: no line, so no context to build (a URL to redact)
        ctx = {
            "target": claim.id,
            "url": redact_url(claim.url),
            "kind": claim.kind.value,
            "outcome": result.outcome.value,
            "status": result.http_status,
            "latency_ms": latency_ms(result),
        }
        if moved.changed:
            log.log(
                level,
                "target %s → %s",
                moved.before.state.value,
                moved.after.state.value,
                extra={"ctx": {**ctx, "problems": " ".join(decision.problems)}},
            )
        else:
            log.debug("checked", extra={"ctx": ctx})

    async def rescan(self, *, force: bool = False, now: int | None = None) -> None:
        if not self.membership.scans_corpus():
            return  # a shared corpus: the leader records it (docs/scaling.md)
        async with self._scan_lock:
            if self.dispatcher.stopping:  # queued behind a scan (SIGHUP's), then stopped
                return
            started = time.monotonic()
            try:
                stamp = self.membership.now() if now is None else now  # the cluster's clock
                report = await asyncio.to_thread(
                    self.scanner.scan, force=force, now=stamp, clock=self.membership.now
                )
            except ScanStopped:
                log.info(
                    "corpus scan stopped midway; what it did not read is read at the next start"
                )
                return
            except SQLAlchemyError as exc:
                error = self._db_failed(exc)
                if error != self.scan_error:  # once per cause, not at every rescan or retry
                    log.error("corpus rescan cannot write to the database: %s; will retry", error)
                self.scan_error = error
                if transient(exc) and not self.settings.once and not self._stop.is_set():
                    delay = self.scan_retry.failed(force=force)
                    if delay is not None:
                        log.debug("corpus rescan retried in %.0fs", delay)
                return
            except Exception as exc:  # a bug: say so, and fail readiness until a scan succeeds
                error = f"rescan failed ({type(exc).__name__})"
                if error != self.scan_error:
                    log.exception("corpus rescan failed; will retry")
                self.scan_error = error
                return
            self.scan_retry.succeeded(force=force)
            if report.clock_back:  # what it stored before it saw the step: walked again
                self.membership.walk_again()
            if self.scan_error is not None:
                log.info("the corpus is recorded again")
                self.scan_error = None
            self.last_scan = report
            if report.changed or report.removed or force:
                log.info(
                    "corpus scanned in %.2fs: %d files, %d changed, %d removed, %d invalid records",
                    time.monotonic() - started,
                    report.files,
                    report.changed,
                    report.removed,
                    report.invalid,
                )

    async def maintenance(self) -> None:
        """Only on the cluster's leader, once per `maintenance_interval`."""
        s = self.settings
        try:
            if not await asyncio.to_thread(self.membership.maintenance_due):
                return
            log.info("maintenance: running as the cluster's leader")
            await asyncio.to_thread(
                run_maintenance,
                self.repo,
                self.membership.now(),
                retention_days=s.retention_days,
                rollup_retention_days=s.rollup_retention_days,
                bound=self._wall,
            )
        except SQLAlchemyError as exc:
            error = self._db_failed(exc)
            log.error("maintenance could not use the database: %s; will retry", error)
            with contextlib.suppress(SQLAlchemyError):  # a database still down: next period
                await asyncio.to_thread(self.membership.maintenance_failed)

    async def checkpoint(self) -> None:
        """Keep the SQLite WAL short, on a thread of its own (not the writer's); and
        stop if the file was deleted or replaced under the daemon (OpenedFile)."""
        gone = None if self._file is None else await asyncio.to_thread(self._file.gone)
        if gone is not None and not self._damaged:
            self._damaged = True
            self.failure = gone
            log.critical("stopping: %s", gone)
            self.stop()
            return
        try:
            await asyncio.to_thread(self.repo.checkpoint)
        except SQLAlchemyError as exc:
            log.warning("WAL checkpoint failed: %s", self._db_failed(exc))

    async def reload(self) -> None:
        """SIGHUP: new settings and keys, then every document read again."""
        if self._reload is not None:
            try:
                settings, keyring = self._reload()
            except ConfigError as exc:
                log.error("reload refused, keeping the running configuration: %s", exc)
                return
            self.settings = settings
            self.keyring = keyring
            self.scanner.settings = settings
            self.scanner.keyring = keyring
            log.info(
                "configuration reloaded (network, listen and database settings apply on restart)"
            )
        await self.rescan(force=True)

    # -- readiness

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        database_error = None
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await asyncio.to_thread(self.repo.ping)
        except TimeoutError:
            database_error = f"no answer within {PING_TIMEOUT:g} s"
        except SQLAlchemyError as exc:
            database_error = first_line(exc)
        scheduler = self.scheduler
        running = scheduler is not None and scheduler.running and not self._stopping
        return judge(
            Health(
                database_error=database_error,
                damaged=self.failure if self._damaged else None,
                scheduler_running=running,
                writer_error=None if self.writer.healthy else (self.writer.error or "failing"),
                claim_error=self.claim_error,
                scan_error=self.scan_error,
                backlog=self.writer.backlog,
                in_flight=len(self._inflight),
                corpus_problems=tuple(self.last_scan.problems) if self.last_scan else None,
                corpus_by_leader=not self.membership.scans_corpus(),
                cluster=self.membership.summary(),
                stuck=self.membership.stuck_detail(),
            )
        )
