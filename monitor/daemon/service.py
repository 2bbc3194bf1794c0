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
import random
import ssl
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from monitor.check.pool import SupportsCheck
from monitor.config import Settings
from monitor.daemon import ending, jobs, joining, start
from monitor.daemon.checker_choice import checker_for
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.cluster import Membership
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.finish import Policies, finish
from monitor.daemon.maintenance import WallSince
from monitor.daemon.notify import READY, notify
from monitor.daemon.outcome import Policy
from monitor.daemon.prestart import Prestarted
from monitor.daemon.probes import keep_probe_answers
from monitor.daemon.readiness import Health, judge
from monitor.daemon.rescan_retry import ScanRetry
from monitor.daemon.scan import CorpusScanner, ScanReport
from monitor.daemon.signals import Signals
from monitor.daemon.sqlite_lock import Lock
from monitor.daemon.tracked_threads import TrackedThreads
from monitor.daemon.unjoined import unjoined
from monitor.daemon.writer import ResultWriter
from monitor.http import Checker
from monitor.observe.endpoints import MetricsServer
from monitor.observe.logs import EVERY, flush_repeats
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.starting import StartWatch
from monitor.secured.keys import KeyRing
from monitor.storage.engine import DAEMON_IDLE_IN_TRANSACTION_MS
from monitor.storage.opening import (
    OpenedFile,
    explain_damage,
    first_line,
    is_damage,
    open_database,
    remove_unused,
)
from monitor.storage.repository import Claimed, Repository
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

T = TypeVar("T")

PING_TIMEOUT = 2.0


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
        sole: bool = False,
    ) -> None:
        # sole: no other daemon can use the database (`run` holds its SQLite file's
        # lock, sqlite_lock.py), so the leases found at the start are a killed run's
        # checker processes spawned before the imports (prestart.py): the checker
        # adopts them, or they are let go; a daemon that stops before then lets them go
        self._prestarted = prestarted or Prestarted()
        self.settings = settings
        self.keyring = keyring
        self._reload = reload
        self._rng = rng or random.Random()  # our own: next-due jitter, never the global state
        # a file this start made: removed if the start fails before recording into it
        self._created: Path | None = None
        # the start's phase and progress, for /healthz and /readyz while it runs
        self.starting = starting or StartWatch()
        # the database opened: a reload's `db` or `data_dir` applies on restart
        self.db_url = settings.database_url()
        self.engine = open_database(
            self.db_url,
            create=True,
            verify=False,
            created=self._made,
            idle_in_transaction_ms=DAEMON_IDLE_IN_TRANSACTION_MS,
        )
        self.repo = Repository(self.engine)
        self._wall = WallSince()  # retention never follows a wall clock that jumped ahead
        # the cycle lag on the clock due times are set by (a member's own may run ahead)
        self.metrics = DaemonMetrics(self.repo.snapshot, clock_ms=lambda: self.membership.now())
        self.scanner = CorpusScanner(self.repo, settings, keyring)
        # the jobs', the pings' and the writer's threads: the stop waits for them,
        # bounded, before the dispose
        self.db_threads = TrackedThreads()
        # claims and writes take turns, one thread at a time, the turn held until the
        # thread ends (a cancelled caller's too): one writer per process
        self._writer_turn = asyncio.Semaphore(1)
        self.writer = ResultWriter(partial(self._db, self.repo.record), on_error=self._db_failed)
        self.membership = Membership(
            self.repo,
            lambda: self.settings,
            in_flight=lambda: [c.url for _, c in self.dispatcher.inflight.values()],
            hosts=lambda: (
                self._checker.hosts if isinstance(self._checker, Checker | ProcessChecker) else None
            ),
            claiming=lambda: self.dispatcher.claiming,
            held=lambda: len(self.dispatcher.inflight) + self.writer.backlog,
            recorded=lambda: self.writer.committed,
            rules=lambda: self.scanner.rules_digest(),
            threads=self.db_threads,
            sole=sole,
        )
        self._beating: asyncio.Task[None] | None = None
        self._joined = False  # the join began: the stop leaves (joining.py)
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
        # the highest stamp a corpus pass stored its targets with: `--once`'s cutoff
        # is never below it, whatever the clock did since (once.py)
        self.scan_stamp: int | None = None
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
        # SIGTERM/SIGINT stop, SIGHUP reloads (one at a time, at most one waiting)
        self._signals = Signals(lambda: self.reload(), self._spawn)
        self._snapshots: asyncio.Task[None] | None = None
        self._damaged = False
        self._hup_ignored = False  # a SIGHUP during the stop was answered (_on_hup)
        self._file: OpenedFile | None = None
        # run's lock on its SQLite file, checked at each checkpoint (jobs.py)
        self.sqlite_lock: Lock | None = None
        self._tls: ssl.SSLContext | None = None  # --ca-bundle's, loaded once at the start
        self._policies = Policies(settings)

    # -- plumbing

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Claims and writes take turns on tracked threads: one writer per process.
        A ThreadPoolExecutor's thread, stuck in a statement on a database that
        stopped answering, held the stop (its shutdown) and then the process's exit
        (concurrent.futures joins its threads at exit); a tracked one is waited for
        within the stop's bound, then left behind (tracked_threads.py)."""
        return await self.db_threads.run(fn, *args, name="db-writer", slots=self._writer_turn)

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
                # not a step cut at the stop: the signals are not the daemon's yet, so a
                # stop signal now is the command's early exit (130), with no stop to
                # hold; not on the executor asyncio.run joins, for each of its two
                # reads and a write waits up to the URL's ?timeout= (an hour at most)
                self._wall = await unjoined(WallSince.at_start, self.repo, name="wall-mark")
            self._install_signals()
            if not s.once:  # systemd (Type=notify): started, and a reload is handled now
                notify(READY)
            self.writer.start()
            # checking starts while the corpus is still being stored (issue 16): all
            # it stores is due at `now`, before run_once's cutoff
            # stamped with the cluster's clock (the database's), as due times and the
            # cutoff are: this machine's may run ahead of it (then none was due)
            with contextlib.suppress(SQLAlchemyError):  # the first heartbeat says why
                sync = self.db_threads.run(self.membership.sync_clock, name="clock-sync")
                await ending.cut_at_stop(self, sync)
            self.scan_stamp = self.membership.now()
            first_scan = asyncio.create_task(self.rescan(now=self.scan_stamp), name="first-scan")
            if self.failure is None:
                checking = await checker_for(
                    s, self.repo, self._prestarted, self._tls, count=self._count_targets
                )
                async with checking as checker:
                    if isinstance(checker, Checker):  # checker processes: see checkers.py
                        checker.text_hash = s.text_drift  # pages' text marks (own drift)
                        if checker.probe is not None:  # its answers outlive a restart
                            kept = keep_probe_answers(checker.probe, self.repo, self._db)
                            await ending.cut_at_stop(self, kept)
                    self._checker = checker
                    # the first heartbeats, cut by a stop as the pass is (a database
                    # that stopped answering held a stop during the join for good)
                    await ending.cut_at_stop(self, joining.join(self))
                    if s.corpus_shared:  # only now is it known whether this member leads
                        await ending.cut_at_stop(self, self.rescan())
                    if s.once:
                        if self.failure is None:
                            every_due = self.dispatcher.run_once(first_scan, floor=self.scan_stamp)
                            await ending.cut_at_stop(self, every_due)
                            self._cut_short = self._stop.is_set()
                        if self.scan_error is not None and self.failure is None:
                            self.failure = f"the corpus could not be recorded: {self.scan_error}"
                    else:
                        if not self._stop.is_set():  # a stop during the join: none to start
                            self._start_scheduler()
                        await self._stop.wait()
                    await self._shutdown()
        finally:
            self._prestarted.discard()  # not taken: the daemon stopped before checking
            try:
                await self._close(first_scan)
            finally:
                # the stop's signals are the daemon's to its end (ignored, the stop
                # bounded): given back before these waits, one landing in them reached
                # the command's handler, and a `--once` that recorded all exited 130
                self._remove_signals()
            if not opened and self._created is not None:  # a failed start leaves no file
                await asyncio.to_thread(remove_unused, self._created)
        code = self._exit_code()
        flush_repeats()  # a count held back is said before "stopped", the last word
        if code:
            log.error("stopped: %s", self.failure, extra=EVERY)
        else:
            log.info("stopped", extra=EVERY)
        return code

    async def _close(self, first_scan: asyncio.Task[None] | None) -> None:
        """The stop's last waits, each within its budget, then the engine disposed."""
        self.dispatcher.stopping = True  # a failed start's too: a SIGHUP now scans nothing
        self._end_snapshots()  # a failed start's (no stop() said so)
        self._not_ready()
        await self.scan_retry.close()
        if first_scan is not None:
            await self._first_scan_ended(first_scan)
        await joining.leave(self)
        await self.writer.stop()
        if self.server is not None:  # a request waiting for the database: within the budget
            await self.server.stop(max(ending.stop_left(self), ending.REQUESTS_AT_LEAST))
        if self._snapshots is not None:
            await asyncio.gather(self._snapshots, return_exceptions=True)
        # those started since the shutdown's wait (a /readyz ping), or without it
        await ending.last_wait(self)
        self.engine.dispose()

    async def _first_scan_ended(self, first_scan: asyncio.Task[None]) -> None:
        """The first scan ends at its next article; its thread, tracked, is waited
        for within the stop's bound. Awaited whole, a scan stuck in a statement on
        a database that stopped answering held the stop for good; past the bound
        it is left behind, named in the stop's warning."""
        self.scanner.stopping = True  # a start that failed: no stop() said so
        if not await ending.threads_ended(self):
            first_scan.cancel()  # a thread was left behind: its own, or no answer to it
        await asyncio.gather(first_scan, return_exceptions=True)

    async def _count_targets(self) -> int | None:
        """The count that chooses the checker (checker_choice.py), a step of the
        start: on a tracked thread, cut at the stop (None then). On the loop's
        executor after the signals were installed, a count stuck on a database
        that stopped answering held the stop, and asyncio.run's join of that
        executor, for good."""
        count = self.db_threads.run(self.repo.active_targets, name="target-count")
        return await ending.cut_at_stop(self, count)

    def _made(self, path: Path) -> None:
        self._created = path

    async def _open(self) -> None:
        """Listen, check and migrate the database, then serve (start.py)."""
        await start.open_daemon(self)

    def _exit_code(self) -> int:
        """0 a clean stop, 1 a `--once` that did not record all, 2 damaged (ending.py)."""
        return ending.exit_code(self)

    def _db_failed(self, exc: SQLAlchemyError) -> str:
        """Every database error of a job comes here: a damaged file stops the
        daemon (retrying cannot mend it, writing on may harm what is left)."""
        if is_damage(exc) and not self._damaged:
            self._damaged = True
            self.failure = explain_damage(exc, self.db_url)  # not a reload's: never opened
            log.critical("stopping: %s", self.failure, extra=EVERY)
            self.stop()
        return first_line(exc)

    def stop(self) -> None:
        if not self._stop.is_set():
            log.info("stopping: no new claims; waiting for checks in flight", extra=EVERY)
            if not self.settings.once:
                notify("STOPPING=1")
        ending.stop_begun(self)
        self.dispatcher.stopping = True
        self.scanner.stopping = True  # a pass under way ends at its next article
        self._end_snapshots()
        self._not_ready()
        self._stop.set()

    def _not_ready(self) -> None:
        """/readyz says "stopping" from the stop's beginning, without a ping: each
        request pinged the database the stop was giving up on, on a thread of its
        own the stop then waited for (endpoints.py)."""
        if self.server is not None:
            self.server.stopping = True

    def _end_snapshots(self) -> None:
        """The metrics' snapshots end when the stop begins; /metrics answers from
        the last one. Cancelled only at the stop's end, the loop went on reading
        a database the stop was giving up on: one failing fast logged "metrics:
        cannot read the database" every 2 s of the stop."""
        self.metrics.state.last_only()
        if self._snapshots is not None:
            self._snapshots.cancel()  # a snapshot under way: its thread is waited for

    def _install_signals(self) -> None:
        self._signals.install(self.stop, self._on_hup)

    def _remove_signals(self) -> None:
        self._signals.remove()

    def _on_hup(self) -> None:
        """A reload, unless one is already waiting its turn (signals.py), or the
        daemon is stopping: its settings and keys are no longer used, and it said
        "configuration reloaded" of a daemon about to exit."""
        if self.dispatcher.stopping:
            # the first is the answer; a flood's rest is counted by the repeat filter
            # (each written, it was a line per signal the loop saw)
            first, self._hup_ignored = not self._hup_ignored, True
            log.info("SIGHUP ignored: stopping", extra=EVERY if first else None)
            return
        self._signals.on_hup()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run `coro` in the background, kept alive in `_bg` (the loop holds tasks
        weakly). Not awaited at the stop: a reload's rescan and a refill see
        `stopping` and do nothing, and database work already under way is on the
        tracked threads the stop waits for; `asyncio.run` cancels what is left."""
        task = asyncio.create_task(coro, name=name)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    def _start_scheduler(self) -> None:
        self.scheduler = jobs.start_scheduler(self)
        log.info(
            "scheduler running: %d checks in flight at most, down after %d failures",
            self.settings.concurrency,
            self.settings.down_after,
        )

    async def _shutdown(self) -> None:
        await ending.shutdown(self)

    # -- jobs

    def _policy(self, kind: Kind) -> Policy:
        """`policy_for`, once per kind and settings (SIGHUP swaps the settings)."""
        return self._policies.get(self.settings, kind)

    def _finish(self, claim: Claimed, result: CheckResult) -> None:
        """Act on the pure decision: queue the record, count the metric, log."""
        finish(
            claim,
            result,
            policy=self._policy(claim.kind),
            rng=self._rng,
            writer=self.writer,
            membership=self.membership,
            metrics=self.metrics,
        )

    async def rescan(self, *, force: bool = False, now: int | None = None) -> None:
        """Read the corpus again and record what changed (jobs.py)."""
        await jobs.rescan(self, force=force, now=now)

    async def maintenance(self) -> None:
        """Only on the cluster's leader, once per `maintenance_interval`."""
        await jobs.maintenance(self)

    async def checkpoint(self) -> None:
        """Keep the SQLite WAL short; stop if the file was replaced (jobs.py)."""
        await jobs.checkpoint(self)

    async def reload(self) -> None:
        """SIGHUP: new settings and keys, then every document read again."""
        await jobs.reload(self)

    # -- readiness

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        database_error = None
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                # given up on after PING_TIMEOUT, its thread still waited for at stop
                await self.db_threads.run(self.repo.ping, name="readiness-ping")
        except TimeoutError:
            database_error = f"no answer within {PING_TIMEOUT:g} s"
        except SQLAlchemyError as exc:
            database_error = first_line(exc)
        scheduler = self.scheduler
        running = scheduler is not None and scheduler.running and not self._stopping
        checker = self._checker
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
                checkers=checker.trouble() if isinstance(checker, ProcessChecker) else None,
            )
        )
