"""Claims due targets up to the free capacity, runs their checks, hands each result on.

The dispatcher owns the checks in flight and the claim loop around them:
what the service decides about a result (`outcome.decide`) and how it is
stored (`writer`) happen behind the `finish` callback. A stop stops the
claiming; `settle` then waits for the checks in flight within the grace
period and gives back the claims of those that did not finish (settle.py),
and of those lost with a checker process (lost.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.check.pool import SupportsCheck
from monitor.config import Settings
from monitor.daemon import settle
from monitor.daemon.checkers import (
    CheckerDeferred,
    CheckerGone,
    CheckerStopped,
    ProcessChecker,
    WorkerHolds,
)
from monitor.daemon.cluster_settings import beat_interval
from monitor.daemon.lost import LostClaims
from monitor.daemon.once import run_pass
from monitor.daemon.pace import Pace, queued_ahead
from monitor.daemon.writer import ResultWriter
from monitor.http.hostpool import HOLD_SLACK, HostHeld, HostPool
from monitor.observe.logs import EVERY
from monitor.storage.repository import Claimed, Repository, now_ms
from monitor.url_exclude import url_exclusion
from monitor.urls import url_host_key
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")

CLAIM_BATCH = 1000
REFILL_DELAY = 0.02  # after a check ends, before claiming for the slots freed since
MAX_BACKLOG = 5 * CLAIM_BATCH  # results queued for the database beyond which claims wait
# Tries of one claim when its checker process dies under it: once more with the
# new process; a target that kills it again is left to its lease (and counted).
CHECKER_DEATHS = 2
# HOLD_SLACK (hostpool.py): a claim whose host is held back (Retry-After, a 429/503
# backoff) for longer than this is not started: it is given back due at the hold's
# end (`held_back`). A shorter hold is waited out at the host's gate, as before.
# claims given back so in one dispatch beyond which it claims on at the next tick:
# walking a held host's whole backlog (100,000 images) in one went on past the
# first of them being due again, and claimed and gave them back for ever
MAX_DEFERRED = 5 * CLAIM_BATCH
# targets remembered as waiting since their first deferral (`held_back`'s turns):
# beyond this many (targets gone from the corpus, say) the memory starts over
MAX_WAITING = 200_000
# a claim given back is due at the hold's end plus up to this many ms, fewer the
# longer it has waited (`waited_ms`): the queue takes equal dues by target id, so
# at each hold's end the same few targets came first, those checked a moment ago
WAIT_RANKS = 64


def waited_ms(waited: int) -> int:
    """The ms after a hold's end that a claim given back for `waited` ms is due:
    64 for one given back now, 60 after 1 s, ~37 after 100 s, 0 after a day."""
    return max(0, WAIT_RANKS - int(4 * math.log2(1 + max(0, waited) / 1000)))


DbCall = Callable[..., Awaitable[Any]]  # runs a repository call on the one database thread


def left_out_now(s: Settings, claims: list[Claimed]) -> set[int]:
    """The claims of targets the settings now leave out: a kind not checked, a URL
    `exclude_urls` matches. They are not checked and are left to their leases; the
    scan that applies the settings (the start's, a reload's) retires them. A start
    or a reload with new rules claimed them before that scan had read their files,
    and requested a URL the operator had just excluded."""
    excluded = url_exclusion(s.exclude_urls)
    if not excluded and len(s.kinds) == len(Kind):
        return set()  # the default: nothing to look at
    kinds = frozenset(s.kinds)
    return {c.id for c in claims if c.kind not in kinds or excluded.excludes(c.url)}


def held_back(
    hosts: HostPool | WorkerHolds,
    claims: list[Claimed],
    now: int,
    skip: set[int],
    running: Iterable[tuple[Any, Claimed]],
    waiting: dict[int, int] | None = None,
    slack: float = HOLD_SLACK,
) -> dict[int, list[Claimed]]:
    """The claims (not in `skip`) not to start now, by when they are due again
    (`now`'s clock, ms). Each started waited out its host's hold at the host's
    gate holding one of the `concurrency` slots: a host answering `429
    Retry-After` to thousands of images took every slot for hours, and no other
    host was checked meanwhile. So a host held back beyond `HOLD_SLACK` has its
    claims due at the hold's end; one whose hold is over (or short) but whose
    last answer refused gets `per_host` checks in flight (`running` holds the
    others), the rest due a backoff later: those that come back at a hold's end
    all went to its gate, and the first answer held them again. The holds are
    the checker's own (its processes' as they told them: checkers.py
    `WorkerHolds`) and, in a cluster, those other members learned (cluster.py
    imposes them).

    `waiting` (target id -> when it was first given back, ms; updated here)
    decides which claims come first: those given back longest ago are due a
    few ms earlier after the hold's end (`waited_ms`), and get a refusing
    host's `per_host` places before those never given back. Due at the hold's
    end alone, the queue took them by target id, and the host's targets
    checked a moment before (given back too when due again) came first: with
    `interval` shorter than the host's backlog takes at `per_host` a hold, the
    same targets were checked again and again and the rest never, with no
    result and no lag to show for it.

    `slack`: holds of at most this many seconds are left to the host's gate
    (HOLD_SLACK); 0 where no gate knows the hold (`run --once` with checker
    processes, `Dispatcher._held_back`)."""
    refusing = hosts.refusing()  # the hosts held or refusing now: none, or a few
    if not refusing:
        return {}
    if waiting is None:
        waiting = {}
    out: dict[int, list[Claimed]] = defaultdict(list)
    short: dict[str, list[Claimed]] = defaultdict(list)  # hosts whose hold is over or short

    def later(claim: Claimed, due: int) -> None:
        out[due + waited_ms(now - waiting.setdefault(claim.id, now))].append(claim)

    for claim in claims:
        if claim.id in skip:
            continue
        host = url_host_key(claim.url)
        if host is None or host not in refusing:
            continue
        left, _ = refusing[host]
        if left > slack:
            later(claim, now + int(left * 1000))
        else:
            short[host].append(claim)
    if not short:
        return out
    busy = Counter(url_host_key(c.url) for _, c in running)  # those in flight
    never = now + 1  # after any time given back
    for host, group in short.items():
        left, backoff = refusing[host]
        room = hosts.per_host - busy[host]
        group.sort(key=lambda c: waiting.get(c.id, never))  # stable: claim order next
        for claim in group[max(0, room) :]:
            later(claim, now + int(max(left + backoff, HOLD_SLACK) * 1000))
    return out


# lease ends a claim keeps while renewals are in doubt (`doubt`): the newest
RENEWALS_IN_DOUBT = 8


def doubt(until: int, ends: tuple[int, ...]) -> tuple[int, ...]:
    """The lease ends a claim may have once a renewal to `until` is tried from
    `ends`: the new end first, then those before. At most RENEWALS_IN_DOUBT (a
    database down for many heartbeats: each failed renewal adds one, and every
    write names them all): those in the middle go first, and the last, the
    end before the first failure, stays (most failed updates did not commit)."""
    tried = (until, *ends)
    if len(tried) <= RENEWALS_IN_DOUBT:
        return tried
    return (*tried[: RENEWALS_IN_DOUBT - 1], tried[-1])


class Dispatcher:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: Repository,
        db: DbCall,
        writer: ResultWriter,
        finish: Callable[[Claimed, CheckResult], None],
        db_failed: Callable[[SQLAlchemyError], str],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        clock: Callable[[], int] = now_ms,
        scope: Callable[[], tuple[bool, frozenset[int] | None]] = lambda: (True, None),
        pace: Pace | None = None,
    ) -> None:
        self._settings = settings  # a getter: SIGHUP swaps the settings
        self.repo = repo
        self._db = db
        self.writer = writer
        self._finish = finish
        self._db_failed = db_failed
        self._spawn = spawn
        self._clock = clock  # the cluster's clock (ms): leases are compared across members
        self._scope = scope  # (may claim, which host buckets): a cluster member's share
        self.inflight: dict[int, tuple[asyncio.Future[Any], Claimed]] = {}  # a task or a future
        self.checker: SupportsCheck | None = None
        # set by a stop: `run --once` waits on it (and on check_ended), never polls
        self.stopped = asyncio.Event()
        self._stopping = False
        self.claim_error: str | None = None  # the last claim failed: readiness says so
        self.lost = 0  # checks given up as their checker process died each time
        # their claims, by target: left to their leases while running, given back at a stop
        self._lost = LostClaims(lambda: self._clock())
        # checks whose result could not be handed on (a decision or a write that
        # raised): logged, and `run --once` says so in its exit code
        self.failed = 0
        self._claiming = asyncio.Lock()  # held while claiming: a stop waits for it
        self._more_due = False  # the last claim stopped at capacity: more may be due
        # what ended the last dispatch: "drained" (a claim came back short: all
        # that was due is taken), else what held it back ("capacity", "writer",
        # "scope": not a live cluster member, "claim": it failed, "stop"). Only
        # "drained" tells `run_once` the pass is done: a held-back dispatch took
        # nothing and says nothing about the queue
        self.ended_by = "stop"
        self._refill_pending = False
        # set as a check ends: `run_once` waits on it, not on every check's future
        # (an `asyncio.wait` over ~1,000 futures put a callback on each, per wake)
        self.check_ended = asyncio.Event()
        self._pace = pace or Pace()  # how fast checks end: how far ahead to claim
        # set as a claim is kept at a stop (`_keep_lost`): settle.py gives it back
        # then, not at the grace's end; and whether `settle` is done with them
        self._returned = asyncio.Event()
        self._settled = False
        # targets given back for their host's hold, by when first (ms): `held_back`
        # gives a refusing host's few places to those waiting longest
        self._waiting: dict[int, int] = {}
        # claims given back so far for their host's hold (`held_back`, `_deferred`):
        # the daemon's `deferred_checks_total` (joining.py `on_beat`)
        self.deferred = 0
        # the leases of checks in flight that the heartbeat renewed (`renew`): target
        # id -> (the lease end it was claimed with, the lease ends the database may
        # hold now: one, or more while renewals whose update failed are in doubt)
        self._renewed: dict[int, tuple[int, tuple[int, ...]]] = {}
        self._renewing = False
        self.renewed = 0  # leases renewed so far
        # claims a stop gave back due at their host's hold's end (`give_back`), and
        # queued targets it put off to it (`put_off_held`): how many, and the latest
        # due (the clock's ms); `run --once`'s exit names them
        self.held_back_at_stop = 0
        self.held_back_until: int | None = None
        # when a check last came back, or the claim that ended an idle spell (the
        # clock's ms): `renew` stops once it is a lease old
        self._answered_at: int | None = None

    @property
    def stopping(self) -> bool:
        """A stop came: no new claims."""
        return self._stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        self._stopping = value
        if value:  # wakes a `run --once` pass waiting for a check's end or a retry
            self.stopped.set()
            self.check_ended.set()
            settle.unqueue(self)

    def now(self) -> int:
        """The cluster's clock (ms)."""
        return self._clock()

    def current(self) -> Settings:
        """The settings now (a SIGHUP swaps them)."""
        return self._settings()

    def held_as(self, claim: Claimed) -> Claimed:
        """The claim as the database holds it now: with the lease end `renew` moved
        it to, or each end it may have (`also`) while a renewal is in doubt. Its
        result and its give-back name them, and end the one held, or find none."""
        renewed = self._renewed.get(claim.id)
        if renewed is None or renewed[0] != claim.lease:
            return claim
        ends = renewed[1]
        return dataclasses.replace(claim, lease=ends[0], also=ends[1:])

    async def renew(self) -> None:
        """At each heartbeat: renew the leases of the checks in flight that end
        within half a lease (three heartbeats at least), for another lease from
        now. A member claims up to its free slots, and a host's claims wait
        their turn at its gate (`per_host` at a time): ten on a host answering
        in 0.6 s outlast a 3 s lease. The last ones' leases
        ran out while they still waited, and another member (the host's bucket
        moving to it) or this one claimed and checked them again: two results
        seconds apart, two requests at once to a host allowed one. A member
        that dies stops renewing: its claims are the others' a lease later, as
        before. Not while it may not claim (silent for half the timeout, placed
        out as stuck: the others may take its hosts), nor after a stop, nor
        while no check came back for a whole lease: a member whose checks all
        hang has its claims run out as it is found stuck (cluster.py), not a
        lease later.

        While the update runs, the claim is named by both ends, the new and the
        one before: a result that comes meanwhile is written after the update
        (claims and writes take turns on the one database thread, in order) and
        ends whichever the database holds. Once the update is done the new end
        alone names a lease it moved, the one before a lease it did not (ran
        out, claimed again). An update that failed may have committed or not (a
        connection cut before its answer): both stay until a later renewal moves
        the lease, or the check ends; a result named by the new end alone was
        refused whenever the update had not committed (a wasted check, the
        target checked again once its lease ran out), and one named by the old
        end whenever it had. Another member's claim of the target, once a lease
        ran out, ends a lease after its own claim: taken for ours only when made
        in the very millisecond of one of our renewals, as two claims' ends could
        always meet (a lease is its target and its end)."""
        if self._renewing or self.stopping or not self.inflight:
            return
        s = self._settings()
        if not self._scope()[0]:
            return
        now = self._clock()
        lease_ms = int(s.lease_seconds * 1000)
        if self._answered_at is None or now - self._answered_at >= lease_ms:
            return
        soon = now + min(lease_ms, max(lease_ms // 2, int(3 * beat_interval(s) * 1000)))
        until = now + lease_ms
        # target -> (claimed with, the lease ends before)
        old: dict[int, tuple[int, tuple[int, ...]]] = {}
        for _, claim in self.inflight.values():
            ends = self.held_as(claim).ends
            if now < max(ends) and min(ends) <= soon:
                old[claim.id] = (claim.lease, ends)
                self._renewed[claim.id] = (claim.lease, doubt(until, ends))
        if not old:
            return
        self._renewing = True
        failed = False
        try:
            moved = set(
                await self._db(
                    self.repo.renew,
                    [(tid, end) for tid, (_, ends) in old.items() for end in ends],
                    until,
                    now,
                )
            )
        except SQLAlchemyError as exc:
            moved, failed = set(), True
            log.warning(
                "could not renew the leases of %d checks waiting their turn (%s); they may "
                "be claimed again once their leases run out",
                len(old),
                self._db_failed(exc),
            )
        finally:
            self._renewing = False
        for tid, (claimed, ends) in old.items():
            if self._renewed.get(tid) != (claimed, doubt(until, ends)):
                continue  # its check ended meanwhile
            if tid in moved:
                self._renewed[tid] = (claimed, (until,))
            elif not failed:
                self._renewed[tid] = (claimed, ends)  # not ours to renew: as it was
        if moved:
            self.renewed += len(moved)
            log.debug("leases of checks in flight renewed", extra={"ctx": {"claims": len(moved)}})

    def capacity(self, s: Settings) -> int:
        """Checks held at once: `concurrency`, and with checker processes the
        claims queued in them ahead of the running checks (pace.py): up to 16x
        as many, no more than the recent rate checks in a quarter lease. They
        still run `concurrency` requests at most."""
        if isinstance(self.checker, ProcessChecker):
            rate = self._pace.rate()
            return s.concurrency + queued_ahead(s.concurrency, rate, s.lease_seconds)
        return s.concurrency

    def least_claim(self, s: Settings) -> int:
        """The fewest free slots worth a claim. With checker processes the slots
        beyond `concurrency` are a queue, so a claim waits until `concurrency`
        slots are free: a claim per batch of results that came back took a few
        targets at a time, and a claim costs ~100 CPU-us a target in claims of
        16, 35 in claims of 64, 21 in claims of 256 (SQLite, 10,000 targets)."""
        if isinstance(self.checker, ProcessChecker) and self.inflight:
            return s.concurrency
        return 1

    @property
    def claiming(self) -> bool:
        """A claim is under way: its targets are not in `inflight` yet."""
        return self._claiming.locked()

    async def dispatch(self, *, cutoff: int | None = None) -> int:
        """Claim due targets up to the free capacity and start their checks.

        A stop that cancels the caller mid-claim (the scheduler's shutdown
        cancels its running jobs) does not cancel the claim: the database call
        ends, what it took is given back (`_dispatch` sees `stopping`), and the
        caller returns 0. Cancelled, the claim's leases were lost until they ran
        out, and the scheduler logged the cancellation as a job's traceback.
        """
        work = asyncio.ensure_future(self._dispatch_locked(cutoff))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            if not self.stopping:
                work.cancel()
                raise
            return 0  # `settle` waits for the claim through `_claiming`

    async def _dispatch_locked(self, cutoff: int | None) -> int:
        async with self._claiming:
            return await self._dispatch(cutoff)

    async def _dispatch(self, cutoff: int | None) -> int:
        s = self._settings()
        claimed = 0
        given_back = 0  # claims of held-back hosts given back (`held_back`)
        self.ended_by = "stop"
        while not self.stopping:
            free = self.capacity(s) - len(self.inflight)
            if free < self.least_claim(s) or self.writer.backlog > MAX_BACKLOG:
                self._more_due = True  # capacity, not the queue, stopped this claim
                self.ended_by = "capacity" if free < self.least_claim(s) else "writer"
                break
            want = min(free, CLAIM_BATCH)
            now = self._clock()
            # a lease runs from now: from `run --once`'s cutoff, a pass longer than
            # lease_seconds wrote leases already over, which others took again
            lease_ms = int(s.lease_seconds * 1000) + (
                max(0, now - cutoff) if cutoff is not None else 0
            )
            may, buckets = self._scope()
            if not may:  # not (or no longer) a live member of the cluster: claim nothing
                self.ended_by = "scope"
                break
            try:
                claims: list[Claimed] = await self._db(
                    self.repo.claim_due,
                    cutoff if cutoff is not None else now,
                    want,
                    lease_ms,
                    buckets,
                )
            except SQLAlchemyError as exc:
                error = self._db_failed(exc)
                if self.claim_error is None:
                    log.error("cannot claim due targets: %s; retrying", error)
                self.claim_error = error
                self.ended_by = "claim"
                break
            if self.claim_error is not None:
                log.info("claiming works again", extra=EVERY)
                self.claim_error = None
            if self.stopping:  # the stop came while claiming: give them back
                await self.give_back(claims)
                break
            fast = self.checker if isinstance(self.checker, ProcessChecker) else None
            held = len(self.inflight)
            if not held and claims:
                # idle until this claim: `renew`'s "no check came back for a whole
                # lease" counts from here. From the last answer before the idle
                # spell (or none since the start), a host's queue whose first
                # check took most of a lease was not renewed, and the member
                # asked its next target again, beside the first request
                self._answered_at = self._clock()
            left_out = left_out_now(s, claims)
            later = self._held_back(s, claims, left_out)
            deferred = {c.id for group in later.values() for c in group}
            waiting = self._waiting
            for claim in claims:
                if claim.id in left_out or claim.id in deferred:
                    continue
                if waiting:  # its turn came: it waits no more
                    waiting.pop(claim.id, None)
                running = self.inflight.get(claim.id)
                previous = None
                if running is None and fast is not None:
                    future = fast.submit(claim.url, claim.kind)
                    if future is not None:  # no task: the result comes to a callback
                        self.inflight[claim.id] = (future, claim)
                        future.add_done_callback(partial(self._checked, claim))
                        continue
                if running is not None:
                    # its lease ran out mid-check and it was claimed again: the
                    # old check's result would be refused (lease gone), so stop
                    # it, and start the new one once it has let go (two at once
                    # were one request too many for the host's limit)
                    previous = running[0]
                    previous.cancel()
                task = asyncio.create_task(
                    self._check(claim, after=previous), name=f"check-{claim.id}"
                )
                self.inflight[claim.id] = (task, claim)
            for until, group in later.items():
                if s.once:  # the pass's own: checked at the hold's end (`_check_at`)
                    self._check_at(group, until)
                else:
                    await self.release(group, due=until)
            claimed += len(claims)
            given_back += len(deferred)
            if len(claims) < want:
                self._more_due = False
                self.ended_by = "drained"
                break
            # claims given back moved the queue's front on: claiming on takes others
            if len(self.inflight) <= held and (not deferred or given_back >= MAX_DEFERRED):
                # only targets in flight, their leases run out (lease_seconds under a
                # claim's round trip): claiming on took them again and again, and
                # restarted their checks, for ever at 100% CPU. Claim when one ends.
                self._more_due = True
                self.ended_by = "capacity"
                break
        return claimed

    def _held_back(
        self, s: Settings, claims: list[Claimed], left_out: set[int]
    ) -> dict[int, list[Claimed]]:
        """The claims to give back due at their host's hold's end, not started
        (`held_back`): a deferral, not a result (no history row, no attempt;
        counted in `deferred_checks_total` alone). The holds are the in-process
        checker's gates', or those its checker processes told (checkers.py
        `WorkerHolds`; their checks queued when a hold began are given back by
        the process or, not sent yet, taken back: `_deferred`). Not a claim of a
        target whose check is in flight (its lease ran out: it is restarted as
        ever). In `run --once` (its pass checks what is due at its cutoff) the
        in-process checker's checks wait at their host's gate, which knows the
        holds the cluster shared (cluster.py imposes them); a checker process's
        gates do not, so with them the pass holds these claims itself until the
        hold's end (`_check_at`): it asked a host held since an earlier pass,
        or by another member, at once (R32)."""
        hosts = getattr(self.checker, "hosts", None)
        if not isinstance(hosts, HostPool | WorkerHolds) or not claims:
            return {}
        if s.once and not isinstance(hosts, WorkerHolds):
            return {}
        skip = left_out | {c.id for c in claims if c.id in self.inflight}
        if len(self._waiting) > MAX_WAITING:
            self._waiting.clear()
        # a checker process's gate does not know a hold the cluster or an earlier pass
        # shared: in `run --once` the pass holds even a short one's claims itself,
        # which were asked up to HOLD_SLACK early (test_run_once_shared_hold)
        slack = 0.0 if s.once else HOLD_SLACK
        later = held_back(
            hosts, claims, self._clock(), skip, self.inflight.values(), self._waiting, slack
        )
        if later and not s.once:  # the pass holds its own: not given back
            given = sum(len(g) for g in later.values())
            self.deferred += given
            log.debug(
                "claims of held-back hosts given back until their holds end",
                extra={"ctx": {"claims": given}},
            )
        return later

    def _check_at(self, claims: list[Claimed], until: int) -> None:
        """`run --once` with checker processes: check `claims` at their host's
        hold's end (`until`, this clock's ms), in this pass (`_held_back`); at a
        stop they start none, and their claims are given back (`_check_surviving`:
        the processes take no check after it)."""
        hold = asyncio.ensure_future(self._hold_ends(until))
        for claim in claims:
            task = asyncio.create_task(self._check(claim, after=hold), name=f"check-{claim.id}")
            self.inflight[claim.id] = (task, claim)

    async def _hold_ends(self, until: int) -> None:
        """Until `until` (this clock's ms), or the stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, (until - self._clock()) / 1000)):
                await self.stopped.wait()

    async def _check(
        self,
        claim: Claimed,
        after: asyncio.Future[Any] | None = None,
        tries: int = CHECKER_DEATHS,
        held: float = 0.0,
    ) -> None:
        try:
            if after is not None:
                await asyncio.wait((after,))  # its cancellation is its own, not ours
            while True:
                if held > 0 and not await self._held_out(claim, held):
                    return  # a stop came meanwhile: its claim is given back
                try:
                    result = await self._check_surviving(claim, tries)
                    break
                except CheckerDeferred as exc:
                    if not self._waits_out():
                        raise
                    held = exc.left
            if result is not None:
                self._answered(claim)
                self._finish(self.held_as(claim), result)
        except CheckerDeferred as exc:
            self._deferred(claim, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failed += 1
            log.exception("check failed unexpectedly", extra={"ctx": {"target": claim.id}})
        finally:
            self._forget(claim)

    def _checked(self, claim: Claimed, future: asyncio.Future[CheckResult]) -> None:
        """The fast path's end (a checker process's future, no task): what `_check`
        does after its await. A check whose checker process died is tried again
        by a task, which takes its place in `inflight` (stop and settle wait for it)."""
        if future.cancelled():
            self._forget(claim)
            return
        exc = future.exception()
        if isinstance(exc, CheckerDeferred):
            current = self.inflight.get(claim.id)
            if current is not None and current[0] is future:
                if self._waits_out():  # `run --once`: checked after the hold, in this pass
                    task = asyncio.create_task(
                        self._check(claim, held=exc.left), name=f"check-{claim.id}"
                    )
                    self.inflight[claim.id] = (task, claim)
                    return
                self._deferred(claim, exc)
            self._forget(claim)
            return
        if isinstance(exc, CheckerGone):
            current = self.inflight.get(claim.id)
            if (
                current is not None
                and current[0] is future
                and (self.stopping or isinstance(exc, CheckerStopped))
            ):
                self._keep_lost(claim)  # not sent again after a stop: `settle` gives it back
                self._forget(claim)
                return
            if current is not None and current[0] is future:
                task = asyncio.create_task(
                    self._check(claim, tries=CHECKER_DEATHS - 1),
                    name=f"check-{claim.id}",
                )
                self.inflight[claim.id] = (task, claim)
                return
        try:
            if exc is not None:
                raise exc
            self._answered(claim)
            self._finish(self.held_as(claim), future.result())
        except Exception:
            self.failed += 1
            log.exception("check failed unexpectedly", extra={"ctx": {"target": claim.id}})
        finally:
            self._forget(claim)

    def _deferred(self, claim: Claimed, exc: CheckerDeferred) -> None:
        """A check queued in its checker process when its host's hold began was
        given back by it, or taken back not sent (checkers.py `_given_back`,
        `_defer`): its claim is given back due at the hold's end, as `held_back`
        gives one back (taking its turn as those do: `waited_ms`); at a stop, by
        `settle`. A deferral, not a result. Not in `run --once`: the check waits
        the hold out and is sent again (`_waits_out`)."""
        if self.stopping:
            self._keep_lost(claim)
            return
        self.deferred += 1
        now = self._clock()
        waited = now - self._waiting.setdefault(claim.id, now)
        due = now + int(exc.left * 1000) + waited_ms(waited)
        self._spawn(self.release([self.held_as(claim)], due=due), "give-back")

    def _waits_out(self) -> bool:
        """Whether a check its checker process gave back for its host's hold
        (CheckerDeferred) waits the hold out here and is sent again, rather than
        have its claim given back due at the hold's end (`_deferred`): in `run
        --once`, whose pass checks what is due at its cutoff and never claims
        a target given back due later. It ended with exit 0 and the held host's
        targets unchecked, where the in-process checker's checks wait at the
        host's gate (R33). Not once a stop came: `_deferred` keeps the claim
        for `settle` to give back."""
        return self._settings().once and not self.stopping

    async def _held_out(self, claim: Claimed, left: float) -> bool:
        """Wait `left` seconds (its host's hold: at most `retry_after_max` or
        `backoff_max`, as the hosts' gates cap it), or until a stop; whether the
        check goes on. At a stop its claim is kept, given back by `settle`
        (`give_back`: due at the hold's end), as a check the stop found waiting
        at a gate is."""
        await self._hold_ends(self._clock() + int(left * 1000))
        if self.stopping:
            self._keep_lost(claim)
            return False
        return True

    def _answered(self, claim: Claimed) -> None:
        """A check came back: one more for the pace, and an earlier claim of its
        target lost with a checker process is settled (nothing to give back)."""
        self._pace.ended()
        self._lost.answered(claim.id)
        self._answered_at = self._clock()

    def _keep_lost(self, claim: Claimed) -> None:
        """Keep a lost claim to give back at a stop (lost.py); at a stop, now."""
        self._lost.keep(self.held_as(claim))
        if self._stopping:
            self._returned.set()

    def _forget(self, claim: Claimed) -> None:
        current = self.inflight.get(claim.id)
        if current is not None and current[1] is claim:  # not a newer claim's entry
            del self.inflight[claim.id]
            self._renewed.pop(claim.id, None)
            self.check_ended.set()
            self._refill()

    async def _check_surviving(
        self, claim: Claimed, tries: int = CHECKER_DEATHS
    ) -> CheckResult | None:
        """The check, tried again when its checker process died under it (the death
        is logged once by the checker, not once per check). Waiting for the lease
        instead left `run --once` without those results: its cutoff is older."""
        assert self.checker is not None
        for _ in range(tries):
            try:
                return await self.checker.check(claim.url, claim.kind)
            except HostHeld:
                if not self.stopping:
                    raise  # a bug: only a stop lets an in-process check leave unsent
                # in-process: it had sent nothing at the stop (settle.py `unqueue`), or
                # would have sent another request after it (a retry, a redirect's hop:
                # Checker.stop_unsent); nothing recorded, its claim given back by
                # `settle` (`give_back`: due now, or at its host's hold's end)
                self._keep_lost(claim)
                return None
            except CheckerGone as exc:
                why = str(exc)
                # a request after the stop (ours, or one its process saw first): no,
                # given back by `settle`
                if self.stopping or isinstance(exc, CheckerStopped):
                    self._keep_lost(claim)
                    return None
        self.lost += 1
        self._keep_lost(claim)
        if self.lost == 1:
            log.warning(
                "a check failed %d times as its checker process ended (%s); it is checked "
                "again once its lease runs out (further ones at DEBUG)",
                CHECKER_DEATHS,
                why,
            )
        else:
            log.debug("check lost with its checker process", extra={"ctx": {"target": claim.id}})
        return None

    def _refill(self) -> None:
        """Claim again soon after a check frees a slot, when the last claim was
        cut short by capacity: waiting for the next dispatch tick capped the
        daemon at `concurrency` checks per tick, however fast the checks were.
        A short delay gathers the slots that free meanwhile into one claim."""
        if self._more_due and not self._refill_pending and not self.stopping:
            if self._settings().once:
                return  # `run_once` claims again as each check ends
            self._refill_pending = True
            self._spawn(self._refill_soon(), "refill")

    async def _refill_soon(self) -> None:
        try:
            await asyncio.sleep(REFILL_DELAY)
        finally:
            self._refill_pending = False
        if not self.stopping:
            await self.dispatch()

    async def run_once(
        self, scanning: asyncio.Task[None] | None = None, *, floor: int | None = None
    ) -> None:
        """Check every target due now, once, and return when all are recorded
        (once.py). `scanning`: the first corpus pass, still storing what it
        stamped before this call; its targets are due too, as are those stamped
        up to `floor`."""
        await run_pass(self, scanning, floor)

    async def settle(self, grace: float) -> None:
        """After a stop: checks in flight get `grace` seconds, and the claims not
        checked are given back (settle.py)."""
        await settle.settle(self, grace)

    def abandon(self) -> None:
        """Stop every check in flight without recording or giving it back: this
        member was counted dead, so its leases ran out and others hold them."""
        for task, _ in list(self.inflight.values()):
            task.cancel()

    def drop_stuck(self) -> None:
        """This member was found stuck (cluster.py): stop every check in flight
        and give their claims back, due now (a held host's at its hold's end),
        for the members its hosts go to. The heartbeat renewed the leases of
        those still waiting behind the hung ones (`renew`), so left to run out
        they kept the targets from the others up to a lease longer."""
        claims = [self.held_as(c) for _, c in self.inflight.values()]
        self.abandon()
        if claims:
            self._spawn(self.give_back(claims), "give-back-stuck")

    async def give_back(self, claims: list[Claimed]) -> None:
        """At a stop (and as a stuck member drops its checks): give back claims
        not checked, due now, or those of a host held back (Retry-After, a
        429/503 backoff; its own or one the cluster shared) due at its hold's
        end. Due now, they were the first a member that took the host over
        claimed, and it asked the host at once if it had not read the hold the
        leave shares yet (its next heartbeat: ~2 s at the defaults)."""
        if not claims:
            return
        hosts = getattr(self.checker, "hosts", None)
        holds = hosts.backoffs() if isinstance(hosts, HostPool | WorkerHolds) else {}
        now = self._clock()
        by_due: dict[int | None, list[Claimed]] = defaultdict(list)
        for claim in claims:
            host = url_host_key(claim.url) if holds else None
            left = holds.get(host, 0.0) if host is not None else 0.0
            by_due[now + math.ceil(left * 1000) if left > 0 else None].append(claim)
        for due, group in by_due.items():
            if await self._released(group, due) and due is not None:
                # not due for a pass started before the hold's end: `run --once`'s
                # exit says so (ending.py), not "due for the next pass" alone
                self.held_back_at_stop += len(group)
                self.held_back_until = max(due, self.held_back_until or due)

    async def put_off_held(self) -> None:
        """At a stop: the queued targets of the hosts held back now (Retry-After, a
        429/503 backoff; its own or one the cluster shared), due before the
        hold's end, are due at its end (repo `put_off`), as `give_back` gives
        back the claims of those hosts. Never claimed by this member, they were
        the first a member taking a host over claimed, and it asked the host at
        once if it had not read the hold the leave shares yet, or the leave
        could not share it."""
        hosts = getattr(self.checker, "hosts", None)
        holds = hosts.backoffs() if isinstance(hosts, HostPool | WorkerHolds) else {}
        now = self._clock()
        until = {h: now + math.ceil(left * 1000) for h, left in holds.items() if left > 0}
        if not until:
            return
        try:
            moved = await self._db(self.repo.put_off, until)
        except SQLAlchemyError as exc:
            log.warning(
                "could not put off the queued targets of %d held hosts to their holds' "
                "ends (%s); another member may ask them before then",
                len(until),
                self._db_failed(exc),
            )
            return
        if moved:
            log.info(
                "queued targets of held hosts put off to their holds' ends",
                extra={"ctx": {"targets": moved, "hosts": len(until)}},
            )
            # counted as the claims given back to a hold's end are: a `run --once`
            # cut short says they wait for it (ending.held_back), not that they
            # are due for the next pass, which leaves them and exits 0
            latest = max(until.values())
            self.held_back_at_stop += moved
            self.held_back_until = max(latest, self.held_back_until or latest)

    async def release(self, claims: list[Claimed], *, due: int | None = None) -> None:
        """Give back claims not checked, due again now, or at `due` (ms)."""
        await self._released(claims, due)

    async def _released(self, claims: list[Claimed], due: int | None) -> bool:
        """`release`: whether the database took them."""
        try:
            await self._db(
                self.repo.release,
                [(c.id, end) for c in claims for end in c.ends],
                self._clock() if due is None else due,
            )
        except SQLAlchemyError as exc:
            log.warning(
                "could not give back %d claims (%s); their leases will expire", len(claims), exc
            )
            return False
        return True
