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
import logging
import os
import random
import signal
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import ConfigError, Settings
from monitor.daemon.maintenance import run_maintenance
from monitor.daemon.outcome import Decision, Policy, decide
from monitor.daemon.scan import CorpusScanner, ScanReport
from monitor.daemon.state import State
from monitor.daemon.writer import ResultWriter
from monitor.http import Checker
from monitor.http.tls import make_ssl_context
from monitor.observe.endpoints import MetricsServer
from monitor.observe.logs import redact_url
from monitor.observe.metrics import DaemonMetrics
from monitor.secured.keys import KeyRing
from monitor.storage.migrate import upgrade
from monitor.storage.opening import (
    DatabaseUnusable,
    check,
    explain,
    first_line,
    is_damage,
    open_database,
    shown_url,
)
from monitor.storage.repository import CheckRecord, Claimed, Repository, now_ms
from monitor.storage.tables import OUTCOME_CODES
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

T = TypeVar("T")

CLAIM_BATCH = 1000
REFILL_DELAY = 0.02  # after a check ends, before claiming for the slots freed since
MAINTENANCE_INTERVAL = 3600.0
CHECKPOINT_INTERVAL = 5.0


def dispatch_tick(settings: Settings) -> float:
    """How often to look for due targets: often enough for the shortest interval."""
    shortest = min(settings.interval_for(k) for k in Kind)
    return min(1.0, max(0.05, shortest / 4))


class Daemon:
    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing,
        *,
        reload: Callable[[], tuple[Settings, KeyRing]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self._reload = reload
        self._rng = rng or random.Random()  # our own: next-due jitter, never the global state
        self.engine = open_database(settings.database_url(), create=True, verify=False)
        self.repo = Repository(self.engine)
        self.metrics = DaemonMetrics(self.repo.snapshot)
        self.scanner = CorpusScanner(self.repo, settings, keyring)
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self.writer = ResultWriter(partial(self._db, self.repo.record), on_error=self._db_failed)
        self._inflight: dict[int, tuple[asyncio.Task[None], Claimed]] = {}
        self._stop = asyncio.Event()
        self._stopping = False
        self._checker: Checker | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.server: MetricsServer | None = None
        self.last_scan: ScanReport | None = None
        self.claim_error: str | None = None
        self.scan_error: str | None = None  # the last rescan could not record the corpus
        # why the daemon stopped on its own (a damaged database, results lost in --once)
        self.failure: str | None = None
        self._scan_lock = asyncio.Lock()
        # held while claiming, so a stop can wait for a claim in progress
        self._dispatching = asyncio.Lock()
        self._bg: set[asyncio.Task[Any]] = set()
        self._more_due = False  # the last claim stopped at capacity: more may be due
        self._refill_pending = False
        self._snapshots: asyncio.Task[None] | None = None
        self._damaged = False

    # -- plumbing

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Claims and writes run on one thread: one writer per process."""
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, fn, *args)

    @property
    def lease_ms(self) -> int:
        return int(self.settings.lease_seconds * 1000)

    # -- lifecycle

    async def run(self) -> int:
        """Run until stopped (or, with `once`, until everything due was checked).

        Exit code: 0 a clean stop; 1 (`--once`) results or the corpus could
        not be recorded; 2 the database turned out damaged while running.
        `failure` says why. A database or listen address unusable at start
        raises DatabaseUnusable or ConfigError instead: nothing was started.
        """
        s = self.settings
        try:
            await self._open()
            self._install_signals()
            self.writer.start()
            await self.rescan()
            if s.once and self.scan_error is not None and self.failure is None:
                self.failure = f"the corpus could not be recorded: {self.scan_error}"
            if self.failure is None:
                async with Checker(s) as checker:
                    self._checker = checker
                    if s.once:
                        await self._run_once()
                    else:
                        self._start_scheduler()
                        await self._stop.wait()
                    await self._shutdown()
        finally:
            self._remove_signals()
            await self.writer.stop()
            if self.server is not None:
                await self.server.stop()
            if self._snapshots is not None:
                self._snapshots.cancel()
                await asyncio.gather(self._snapshots, return_exceptions=True)
            self._db_pool.shutdown(wait=True)
            self.engine.dispose()
        code = self._exit_code()
        if code:
            log.error("stopped: %s", self.failure)
        else:
            log.info("stopped")
        return code

    async def _open(self) -> None:
        """Check and migrate the database, then start serving; raise if either cannot."""
        s = self.settings
        url = s.database_url()
        if s.ca_bundle is not None:
            make_ssl_context(s.ca_bundle)  # a bad bundle is refused before anything starts
        started = time.monotonic()
        await asyncio.to_thread(check, self.engine, url)  # SQLite: ~1 s per 70 MB
        checked = time.monotonic() - started
        try:
            await asyncio.to_thread(upgrade, self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseUnusable(explain(exc, url)) from None
        if not s.once:
            await self._serve()
        log.info("database %s (integrity checked in %.1fs)", shown_url(url), checked)

    async def _serve(self) -> None:
        s = self.settings
        self.server = MetricsServer.for_settings(self.metrics, self.readiness, s)
        try:
            await self.server.start()
        except (OSError, OverflowError) as exc:
            self.server = None
            errno = getattr(exc, "errno", None)
            reason = os.strerror(errno) if errno else str(exc)
            raise ConfigError(f"cannot listen on {s.listen}: {reason}") from None
        # gauges: a snapshot in the background; scrapes read the last one
        self._snapshots = asyncio.create_task(self.metrics.keep_fresh(), name="snapshots")

    def _exit_code(self) -> int:
        if self._damaged:
            return 2
        if self.failure is None and self.settings.once and self.writer.backlog:
            reason = self.writer.error or self.claim_error or "the database did not answer in time"
            self.failure = f"{self.writer.backlog} results could not be recorded: {reason}"
        return 0 if self.failure is None else 1

    def _db_failed(self, exc: SQLAlchemyError) -> str:
        """Every database error of a job comes here: a damaged file stops the
        daemon (retrying cannot mend it, writing on may harm what is left)."""
        if is_damage(exc) and not self._damaged:
            self._damaged = True
            self.failure = explain(exc, self.settings.database_url())
            log.critical("stopping: %s", self.failure)
            self.stop()
        return first_line(exc)

    def stop(self) -> None:
        if not self._stop.is_set():
            log.info("stopping: no new claims; waiting for checks in flight")
        self._stopping = True
        self._stop.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    def _on_hup(self) -> None:
        self._spawn(self.reload(), "reload")

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
            self.rescan, "interval", seconds=self.settings.rescan_interval, id="rescan", **common
        )
        sched.add_job(
            self.maintenance, "interval", seconds=MAINTENANCE_INTERVAL, id="maintenance", **common
        )
        sched.add_job(
            self.checkpoint, "interval", seconds=CHECKPOINT_INTERVAL, id="checkpoint", **common
        )
        sched.start()
        self.scheduler = sched
        log.info(
            "scheduler running: %d checks in flight at most, down after %d failures",
            self.settings.concurrency,
            self.settings.down_after,
        )

    async def _shutdown(self) -> None:
        self._stopping = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        async with self._dispatching:
            pass  # a claim in progress has finished (and given back what came too late)
        tasks = [t for t, _ in self._inflight.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace)
            if pending:
                log.warning("%d checks did not finish in time; they will be redone", len(pending))
                claims = [c for t, c in self._inflight.values() if t in pending]
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                await self._release(claims)
        if self._damaged:
            return  # nothing more can be written
        try:
            async with asyncio.timeout(max(self.settings.shutdown_grace, 1.0)):
                await self.writer.drain()
        except TimeoutError:
            log.error("%d results could not be written before exit", self.writer.backlog)

    async def _release(self, claims: list[Claimed]) -> None:
        try:
            await self._db(self.repo.release, [(c.id, c.lease) for c in claims], now_ms())
        except SQLAlchemyError as exc:
            log.warning(
                "could not give back %d claims (%s); their leases will expire", len(claims), exc
            )

    # -- jobs

    async def dispatch(self, *, cutoff: int | None = None) -> int:
        """Claim due targets up to the free capacity and start their checks."""
        async with self._dispatching:
            return await self._dispatch(cutoff)

    async def _dispatch(self, cutoff: int | None) -> int:
        claimed = 0
        while not self._stopping:
            free = self.settings.concurrency - len(self._inflight)
            if free <= 0 or self.writer.backlog > 5 * CLAIM_BATCH:
                self._more_due = True  # capacity, not the queue, stopped this claim
                break
            want = min(free, CLAIM_BATCH)
            try:
                claims = await self._db(
                    self.repo.claim_due,
                    cutoff if cutoff is not None else now_ms(),
                    want,
                    self.lease_ms,
                )
            except SQLAlchemyError as exc:
                error = self._db_failed(exc)
                if self.claim_error is None:
                    log.error("cannot claim due targets: %s; retrying", error)
                self.claim_error = error
                break
            if self.claim_error is not None:
                log.info("claiming works again")
                self.claim_error = None
            if self._stopping:  # the stop came while claiming: give them back
                if claims:
                    await self._release(claims)
                break
            for claim in claims:
                running = self._inflight.get(claim.id)
                if running is not None:
                    # its lease ran out mid-check and it was claimed again: the
                    # old check's result would be refused (lease gone), so stop it
                    running[0].cancel()
                task = asyncio.create_task(self._check(claim), name=f"check-{claim.id}")
                self._inflight[claim.id] = (task, claim)
            claimed += len(claims)
            if len(claims) < want:
                self._more_due = False
                break
        return claimed

    async def _check(self, claim: Claimed) -> None:
        try:
            assert self._checker is not None
            result = await self._checker.check(claim.url, claim.kind)
            self._finish(claim, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("check failed unexpectedly", extra={"ctx": {"target": claim.id}})
        finally:
            current = self._inflight.get(claim.id)
            if current is not None and current[1] is claim:  # not a newer claim's entry
                del self._inflight[claim.id]
                self._refill()

    def _refill(self) -> None:
        """Claim again soon after a check frees a slot, when the last claim was
        cut short by capacity: waiting for the next dispatch tick capped the
        daemon at `concurrency` checks per tick, however fast the checks were.
        A short delay gathers the slots that free meanwhile into one claim."""
        if self._more_due and not self._refill_pending and not self._stopping:
            if self.settings.once:
                return  # `_run_once` claims again as each check ends
            self._refill_pending = True
            self._spawn(self._refill_soon(), "refill")

    async def _refill_soon(self) -> None:
        try:
            await asyncio.sleep(REFILL_DELAY)
        finally:
            self._refill_pending = False
        if not self._stopping:
            await self.dispatch()

    def _policy(self, kind: Kind) -> Policy:
        s = self.settings
        return Policy(
            interval=s.interval_for(kind),
            retry_interval=s.retry_interval,
            jitter=s.interval_jitter,
            down_after=s.down_after,
            up_after=s.up_after,
        )

    def _finish(self, claim: Claimed, result: CheckResult) -> None:
        """Act on the pure decision: queue the record, count the metric, log."""
        decision = decide(claim.state, claim.refs, result, self._policy(claim.kind), self._rng)
        self.writer.put(_record(claim, result, decision, now_ms()))
        seconds = None if result.latency_ms is None else result.latency_ms / 1000
        self.metrics.observe(claim.kind, result.outcome, seconds)
        ctx = {
            "target": claim.id,
            "url": redact_url(claim.url),
            "kind": claim.kind.value,
            "outcome": result.outcome.value,
            "status": result.http_status,
            "latency_ms": _latency(result),
        }
        moved = decision.step
        if moved.changed:
            level = logging.WARNING if moved.after.state is State.DOWN else logging.INFO
            log.log(
                level,
                "target %s → %s",
                moved.before.state.value,
                moved.after.state.value,
                extra={"ctx": {**ctx, "problems": " ".join(decision.problems)}},
            )
        else:
            log.debug("checked", extra={"ctx": ctx})

    async def rescan(self, *, force: bool = False) -> None:
        async with self._scan_lock:
            started = time.monotonic()
            try:
                report = await asyncio.to_thread(self.scanner.scan, force=force)
            except SQLAlchemyError as exc:
                self.scan_error = self._db_failed(exc)
                log.error(
                    "corpus rescan could not write to the database: %s; will retry",
                    self.scan_error,
                )
                return
            except Exception:
                log.exception("corpus rescan failed; will retry")
                return
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
        s = self.settings
        try:
            await asyncio.to_thread(
                run_maintenance,
                self.repo,
                now_ms(),
                retention_days=s.retention_days,
                rollup_retention_days=s.rollup_retention_days,
            )
        except SQLAlchemyError as exc:
            error = self._db_failed(exc)
            log.error("maintenance could not use the database: %s; will retry", error)

    async def checkpoint(self) -> None:
        """Keep the SQLite WAL short, on a thread of its own (not the writer's)."""
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

    async def _run_once(self) -> None:
        """Check every target due now, once, and return when all are recorded."""
        cutoff = now_ms()
        while not self._stopping:
            claimed = await self.dispatch(cutoff=cutoff)
            if not claimed and not self._inflight:
                break
            if self._inflight:
                await asyncio.wait(
                    [t for t, _ in self._inflight.values()], return_when=asyncio.FIRST_COMPLETED
                )

    # -- readiness

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        detail: dict[str, Any] = {}
        ready = True
        try:
            async with asyncio.timeout(2.0):
                await asyncio.to_thread(self.repo.ping)
            detail["database"] = "ok"
        except (TimeoutError, SQLAlchemyError) as exc:
            ready = False
            detail["database"] = f"unreachable: {first_line(exc) or 'timeout'}"
        running = self.scheduler is not None and self.scheduler.running and not self._stopping
        detail["scheduler"] = "running" if running else "stopped"
        ready = ready and running
        if not self.writer.healthy:
            ready = False
            detail["writer"] = f"failing: {self.writer.error}"
        else:
            detail["writer"] = "ok"
        if self.claim_error:
            ready = False
            detail["claims"] = f"failing: {self.claim_error}"
        if self.scan_error:
            ready = False
            detail["scan"] = f"cannot record the corpus: {self.scan_error}"
        if self._damaged:
            ready = False
            detail["database"] = f"damaged: {self.failure}"
        detail["backlog"] = self.writer.backlog
        detail["in_flight"] = len(self._inflight)
        detail["corpus"] = self.last_scan.problems if self.last_scan else ["not scanned yet"]
        return ready, detail


def _latency(result: CheckResult) -> int | None:
    return None if result.latency_ms is None else round(result.latency_ms)


def _record(claim: Claimed, result: CheckResult, decision: Decision, now: int) -> CheckRecord:
    return CheckRecord(
        target_id=claim.id,
        lease=claim.lease,
        checked_at=int(result.checked_at.timestamp() * 1000),
        outcome=OUTCOME_CODES[result.outcome],
        outcome_name=result.outcome.value,
        http_status=result.http_status,
        latency_ms=_latency(result),
        problems=decision.problems,
        before=decision.step.before,
        after=decision.step.after,
        next_due=decision.next_due_ms(now),
    )
