"""This daemon as a member of a cluster on one database (CONTRACT section 8).

A heartbeat (every `cluster_heartbeat` seconds, on a thread) writes this
member's row, renews or takes the maintenance lease, reads who else is
alive, shares Retry-After backoffs both ways and works out which host
buckets this member may claim now (`placement.claimable`): rendezvous
hashing gives each live member its share of hosts, and a handover waits
until every member has drained the hosts it lost, then the host's minimum
interval. SQLite is a cluster of one: no bucket filter, this member leads.

A member that heartbeats but records no result for a whole lease while it
holds claims is stuck (a hung check, a writer that cannot commit): it drops
its checks in flight, marks itself stuck and is placed out for a lease, so
its hosts go to the others through the same handover; then it tries again.
The mark stays (`article-monitor cluster`, /readyz, the stuck gauge) until it
records a result again, or holds no claim a lease after trying again (idle).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from monitor import __version__
from monitor.config import Settings
from monitor.daemon.checkers import WorkerHolds
from monitor.daemon.clock_step import ClockWatch, backoff_horizon_ms
from monitor.daemon.cluster_settings import beat_interval, beat_warning, lease_warning
from monitor.daemon.maintenance import MixedVersionMend
from monitor.daemon.placement import BUCKETS, claimable, owners_of, share, url_bucket, view_of
from monitor.daemon.tracked_threads import TrackedThreads
from monitor.http.hostpool import HostPool
from monitor.observe.logs import EVERY
from monitor.storage.cluster import MAINTENANCE, ClusterView
from monitor.storage.opening import first_line
from monitor.storage.repository import Repository, now_ms

log = logging.getLogger("monitor.daemon")

MAX_CLOCK_RTT_MS = 250  # a slower read of the database's clock says too little about it
# the leave's wait for a host_backoff row another member's beat holds (ms): a beat holds
# it for its transaction's few ms; one frozen inside it (SIGSTOP) costs the leave this
# much, within the leave's own bound (joining.LEAVE_AT_LEAST, 1 s)
LEAVE_LOCK_WAIT_MS = 500


def _steady() -> float:
    """Seconds that no one steps: the boot-time clock where there is one (it counts
    a suspended machine's sleep, which the monotonic clock leaves out on Linux)."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


class Membership:
    def __init__(
        self,
        repo: Repository,
        settings: Callable[[], Settings],
        *,
        in_flight: Callable[[], Iterable[str]],
        hosts: Callable[[], HostPool | WorkerHolds | None],
        claiming: Callable[[], bool] = lambda: False,
        held: Callable[[], int] = lambda: 0,
        recorded: Callable[[], int] = lambda: 0,
        rules: Callable[[], str | None] = lambda: None,
        member_id: str | None = None,
        threads: TrackedThreads | None = None,
        sole: bool = False,
    ) -> None:
        self.repo = repo
        # no other daemon can use this database (`run`'s lock on its SQLite file):
        # the leases the first beat finds are a killed run's, claimable at once
        self._dead_leases = sole
        # the beats' database work, which the stop waits for (bounded) before it leaves
        self._threads = threads or TrackedThreads()
        self._settings = settings
        self._in_flight = in_flight  # URLs of the checks in flight (read on the loop)
        self._hosts = hosts
        self._claiming = claiming  # a claim is under way (read on the loop)
        self._holding = held  # claims held: checks in flight and results not recorded yet
        self._recorded = recorded  # results recorded so far (a counter)
        self._rules = rules  # the digest of the rules it reads and claims with, published
        self._rules_differ: tuple[tuple[str, str], ...] = ()  # (id, host) of others, warned
        self._progress = (0, time.monotonic())  # (recorded, when it last moved or held none)
        self.stuck_since: int | None = None  # database ms; cleared by a recorded result
        self._out_until = 0  # database ms: placed out (claims nothing) until then
        self.id = member_id or uuid.uuid4().hex[:16]
        self.clustered = repo.dialect == "postgresql"
        self.started = now_ms()
        self.offset_ms = 0  # database clock minus ours (at the last clock read)
        self._synced: tuple[int, float] | None = None  # (database ms, our _steady() s) then
        self.view: ClusterView | None = None
        self.leader = False
        self.took_lead = False  # set when this member becomes the leader; the service clears it
        self.error: str | None = None
        self._lock = threading.Lock()
        self._buckets: frozenset[int] | None = None if not self.clustered else frozenset()
        self._held: frozenset[int] = frozenset()  # gained, waiting out the host interval
        self._held_until = 0.0  # _steady() s
        # gained at a heartbeat, not claimed until the holds it read are imposed on
        # the loop (`beat_once`): the placement moved on the beat's thread, the
        # holds after it, and a claim between took a held host's targets
        self._unimposed: frozenset[int] = frozenset()
        # _steady() s: past it they are claimed though no heartbeat could read the
        # holds (a read failing beat after beat kept them from every member for good)
        self._unimposed_until = 0.0
        self._settled: frozenset[str] | None = None
        self._drained: str | None = None
        self._live: frozenset[str] | None = None  # the membership of the last heartbeat
        # the hosts held back as the stop found them (`holds_at_stop`): host -> end
        # (time.monotonic() s), shared by the leave (`leave`)
        self._holds_at_stop: dict[str, float] = {}
        # _steady() time of the last heartbeat that worked: the boot-time clock, since a
        # suspended machine (a laptop's sleep, a VM suspended inside) is silent to the
        # others all along, though the monotonic clock does not count that time
        self._last_ok = float("-inf")
        self._checks = 0
        self._beats = 0
        self.rejoined = False  # set by a heartbeat after a silence beyond the timeout
        self._rate = 0.0
        self._rate_mark = (_steady(), 0)
        self._versions_warned: set[str] = set()
        self._clock_watch = ClockWatch()  # a step back pulls in the due times set ahead
        self._mend = MixedVersionMend()  # another version retires without `active`
        for why in (lease_warning(settings()), beat_warning(settings())):
            if self.clustered and why:
                log.warning("cluster: %s", why)
        alone = None if self.clustered else lease_warning(settings(), clustered=False)
        if alone:
            log.warning("%s", alone)

    # -- what the dispatcher and the service ask

    def now(self) -> int:
        """The cluster's clock (the database's), in ms: leases and due times use it.
        Carried from the last read of it by the monotonic clock, so a step of this
        machine's wall clock between reads (NTP, a resumed VM) is not the cluster's."""
        if self._synced is None:
            return now_ms() + self.offset_ms
        db, mono = self._synced
        return db + int((_steady() - mono) * 1000)

    def walk_again(self) -> None:
        """A corpus pass saw the clock step back: the due queue is walked once more."""
        self._clock_watch.walk_again()

    def leads(self) -> bool:
        """This member holds the leader lease and heard from the database recently
        enough that nobody else can have taken it over (half the lease's length)."""
        if not self.clustered:
            return True
        fresh = _steady() - self._last_ok <= self._settings().cluster_timeout / 2
        return self.leader and self.error is None and fresh

    def scans_corpus(self) -> bool:
        """Whether this member rescans the corpus: every member scans its own paths,
        unless they are one shared storage (`corpus_shared`): then only the leader
        writes the corpus tables, and the others check what it recorded."""
        return not self._settings().corpus_shared or self.leads()

    def note_check(self) -> None:
        self._checks += 1

    def scope(self) -> tuple[bool, frozenset[int] | None]:
        """(may claim at all, the buckets to claim; None = every bucket)."""
        if not self.clustered:
            return True, None
        s = self._settings()
        # silent longer than half the timeout: the others may soon count us dead
        if _steady() - self._last_ok > s.cluster_timeout / 2:
            return False, frozenset()
        # members starting together each see only themselves in their first
        # heartbeat (the others' rows are not committed yet): claim after a second
        if self._beats < 2:
            return False, frozenset()
        if self.now() < self._out_until:  # stuck: its hosts are the others' for now
            return False, frozenset()
        with self._lock:
            buckets = self._buckets
            if self._held and _steady() < self._held_until:
                # just gained (alone now: every bucket), minus those still waiting
                every = buckets if buckets is not None else frozenset(range(BUCKETS))
                buckets = every - self._held
            if self._unimposed and _steady() < self._unimposed_until:
                every = buckets if buckets is not None else frozenset(range(BUCKETS))
                buckets = every - self._unimposed
            return True, buckets

    # -- the heartbeat (blocking: run on a thread)

    async def keep_beating(
        self,
        on_error: Callable[[SQLAlchemyError], str],
        on_beat: Callable[[], None],
        on_rejoin: Callable[[], None] = lambda: None,
        on_stuck: Callable[[], None] = lambda: None,
    ) -> None:
        """Until cancelled: a heartbeat every `cluster_heartbeat` seconds. After a
        silence the others took for death (a pause, a frozen VM), `on_rejoin`
        drops the checks still in flight: their hosts and leases are others' now,
        and a check waiting at a host gate would otherwise go out beside theirs."""
        while True:
            if self.judge_progress():
                on_stuck()
            await self.beat_once(on_error)
            if self.rejoined:
                self.rejoined = False
                log.warning("cluster: back after a silence beyond the timeout; rejoining")
                on_rejoin()
            on_beat()
            await asyncio.sleep(beat_interval(self._settings()))

    async def beat_once(self, on_error: Callable[[SQLAlchemyError], str]) -> None:
        """One heartbeat; what the loop owns (checks in flight, host gates) is read
        and written here on the loop, the database on a thread of its own."""
        self._note_drained()
        hosts = self._hosts()
        learned = hosts.backoffs() if hosts is not None else {}
        try:
            # tracked: the leave waits for it (joining.leave); leaving beside it, the
            # beat wrote back the row the leave had just deleted
            shared = await self._threads.run(self.beat, learned, name="heartbeat")
        except SQLAlchemyError as exc:
            self.failed(on_error(exc))
            return
        if hosts is not None:
            now = self.now()
            for host, until in shared.items():
                left = (until - now) / 1000
                if left > hosts.backoff_remaining(host) + 0.05:
                    hosts.impose(host, left)
        with self._lock:  # the hosts gained are held as the cluster holds them
            self._unimposed = frozenset()

    def judge_progress(self) -> bool:
        """On the loop: True when this member has just been found stuck — it held
        claims for a whole lease (they ran out unanswered) and recorded nothing.
        It is then placed out for a lease; a recorded result clears the mark."""
        if not self.clustered:
            return False
        s = self._settings()
        held, recorded = self._holding(), self._recorded()
        mono = time.monotonic()
        last, since = self._progress
        if recorded != last:
            if self.stuck_since is not None:
                log.warning("cluster: results are recorded again; no longer stuck", extra=EVERY)
            self.stuck_since = None
        elif (
            self.stuck_since is not None
            and held == 0
            and self.now() >= self._out_until + int(s.lease_seconds * 1000)
        ):
            # a lease free to claim again, and it holds nothing: idle (nothing of its
            # hosts due), not stuck; the mark would otherwise stay (and alert) until
            # its next result, an interval away or more
            log.warning("cluster: holding no claims a lease after being placed out; not stuck")
            self.stuck_since = None
        if recorded != last or held == 0:
            self._progress = (recorded, mono)
            return False
        if mono - since < s.lease_seconds or self.now() < self._out_until:
            return False
        now = self.now()
        log.error(
            "cluster: stuck — %d claims held and no result recorded for %.0f s; dropping "
            "the checks in flight and handing this member's hosts to the others for %.0f s",
            held,
            mono - since,
            s.lease_seconds,
        )
        self.stuck_since = self.stuck_since or now
        self._out_until = now + int(s.lease_seconds * 1000)
        self._progress = (recorded, mono)
        return True

    def _note_drained(self) -> None:
        """On the loop, before the row is written: drained to the last membership
        seen once no claim is under way (its targets would not be in flight yet)
        and no check in flight is on a bucket this member lost. Published in this
        heartbeat's row; the others hand buckets over only when all have it."""
        live = self._live
        if live is None or self._claiming():
            return
        mine = share(self.id, live)
        if all(url_bucket(u) in mine for u in self._in_flight()):
            self._drained = view_of(live)

    def beat(self, learned: dict[str, float]) -> dict[str, int]:
        """Write our row, read the cluster, place ourselves; returns the cluster's
        backoffs (host -> end, database ms) after adding ours (seconds left)."""
        s = self._settings()
        timeout_ms = int(s.cluster_timeout * 1000)
        self.sync_clock()
        if self._dead_leases:
            self._free_dead_leases()
        mono = _steady()
        mark_t, mark_n = self._rate_mark
        if mono - mark_t >= 1.0:
            self._rate = (self._checks - mark_n) / (mono - mark_t)
            self._rate_mark = (mono, self._checks)
        row: dict[str, Any] = {
            "id": self.id,
            "host": socket.gethostname()[:200],
            "pid": os.getpid(),
            "version": __version__,
            "started_at": self.started + self.offset_ms,
            "view": self._drained,
            "checks": self._checks,
            "rate": round(self._rate, 3),
            "rules": self._rules(),
        }
        stuck = None if self.stuck_since is None else (self.stuck_since, self._out_until)
        view = self.repo.heartbeat(row, timeout_ms, timeout_ms, stuck)
        if mono - self._last_ok > s.cluster_timeout and self._beats:
            self.rejoined = True  # the others counted us dead: our checks are theirs now
        if mono - self._last_ok > s.cluster_timeout / 2:
            # back from silence (an outage, a pause): the others' rows may be as
            # stale as ours, so we would see ourselves alone; wait for a second beat
            self._beats = 0
        self._last_ok = mono
        self._beats += 1
        self.view = view
        me = next((m for m in view.members if m.id == self.id), None)
        was_leader = self.leader
        self.leader = me is not None and me.leader
        if self.leader and not was_leader:
            self.took_lead = True
        if self.leader != was_leader and self.repo.dialect == "postgresql":  # SQLite: one
            log.info(
                "cluster: %s maintenance leader", "now the" if self.leader else "no longer the"
            )
        self._place(view, s)
        now = self.now()
        watched = any(m.id != self.id for m in view.live)  # they saw any step
        stepped = self._clock_watch.beat(self.repo, now, s, watched=watched)
        shared = self.repo.share_backoff(
            {h: now + int(x * 1000) for h, x in learned.items()},
            backoff_horizon_ms(s) if stepped else None,
        )
        others = {m.version for m in view.live if m.version != __version__}
        for v in others - self._versions_warned:
            log.warning("cluster: a member runs version %s, this one %s", v, __version__)
        self._versions_warned |= others
        self._compare_rules(view, row["rules"])
        self._mend.beat(self.repo, mono, mixed=bool(others) and self.leader)
        if self.error is not None:
            log.info("cluster heartbeat works again", extra=EVERY)
        self.error = None
        return shared

    def _compare_rules(self, view: ClusterView, mine: str | None) -> None:
        """Warn, once per change, naming the live members whose rules' digest differs
        from ours (kinds, related, exclude_urls, keys, exclude_fields): each member
        reads the corpus and claims with its own, and none was told."""
        if not self.clustered or mine is None:
            return
        differ = tuple(
            sorted(
                (m.id, m.host)
                for m in view.live
                if m.id != self.id and m.rules is not None and m.rules != mine
            )
        )
        if differ == self._rules_differ:
            return
        self._rules_differ = differ
        if not differ:
            log.info("cluster: every live member reads and claims with the same rules again")
            return
        log.warning(
            "cluster: this member's kinds, related, exclude_urls, keys or exclude_fields "
            "differ from those of %s: each member reads the corpus with its own (a changed "
            "file's targets and verdicts are those of whichever member reads it first), and "
            "the targets of this member's hosts that its rules leave out are not checked "
            "by any member; give every member the same rules",
            ", ".join(f"{member} on {host}" for member, host in differ),
        )

    def _free_dead_leases(self) -> None:
        """At the first beat (claims wait for it), alone on the database: every lease
        is a run's that was killed holding it. Its targets waited out `lease_seconds`
        (5 min at the default) after a restart, shown nowhere as overdue."""
        self._dead_leases = False  # tried once: a claim of ours may follow a failed beat
        if freed := self.repo.expire_leases_ahead(self.now(), 0):
            log.info(
                "%d targets claimed by a run that ended without giving them back "
                "(killed) are claimable again",
                freed,
            )

    def sync_clock(self) -> None:
        """The database's clock minus ours, from a bare read of it (never from the
        heartbeat's write, which may wait seconds on a lock and skew the estimate:
        on SQLite that made leases end early). One machine (SQLite): no offset."""
        if not self.clustered:
            return
        m0 = _steady()
        db = self.repo.db_now()
        m1 = _steady()
        if (m1 - m0) * 1000 <= MAX_CLOCK_RTT_MS or self._synced is None or not self._beats:
            self._synced = (db, (m0 + m1) / 2)
            self.offset_ms = self.now() - now_ms()

    def _place(self, view: ClusterView, s: Settings) -> None:
        if not self.clustered:
            return
        live = {m.id for m in view.live} | {self.id}
        views = {m.id: m.view for m in view.live}
        out = {m.id for m in view.live if m.out}
        buckets, settled = claimable(self.id, live, views, self._settled, out)
        owners = owners_of(live, out)
        with self._lock:
            if settled:
                before = share(self.id, self._settled) if self._settled else frozenset()
                if self._settled != owners:
                    mine = buckets if buckets is not None else frozenset(range(BUCKETS))
                    gained = mine - before
                    self._unimposed = frozenset(gained)
                    # the holds are read after the placement, in this beat: one
                    # that failed there (and every later one) imposed nothing, and
                    # the hosts gained waited for good. A heartbeat's timeout at
                    # most, as a member that can read no hold claims its other hosts
                    self._unimposed_until = _steady() + s.cluster_timeout
                    if gained and s.host_min_interval > 0:
                        self._held = frozenset(gained)
                        self._held_until = _steady() + s.host_min_interval
                    log.info(
                        "cluster: %d live members (%d placed out), this one checks %d "
                        "of the %d host buckets",
                        len(live),
                        len(live) - len(owners),
                        len(mine),
                        BUCKETS,
                    )
                self._settled = owners
            self._buckets = buckets
            self._live = owners

    def failed(self, error: str) -> None:
        """Logged once per outage (its causes vary as it goes on: refused, reset,
        out of files), then once more when a heartbeat works again."""
        if self.error is None:
            log.error("cluster heartbeat failed: %s; retrying", error)
        else:
            log.debug("cluster heartbeat still failing: %s", error)
        self.error = error

    def holds_at_stop(self) -> None:
        """On the loop, once the stop's checks are settled and before the checker
        closes (a checker process's holds go with it): note the hosts held back
        now, for the leave to share them."""
        hosts = self._hosts()
        if hosts is None:
            return
        mono = time.monotonic()
        self._holds_at_stop = {h: mono + left for h, left in hosts.backoffs().items()}

    def leave(self) -> None:
        """A clean stop: the holds the stop found shared (`holds_at_stop`), out of
        the membership and the leader lease given up. The heartbeat shares them
        every beat, but a host that answered 429/503 since the last beat was
        forgotten: its check leaves at the stop (no request after the stop),
        its claim given back due at the hold's end (dispatch.py `give_back`),
        and the next start, or another member, asked the host again long before
        its Retry-After was over."""
        mono = time.monotonic()
        holds = {h: end - mono for h, end in self._holds_at_stop.items() if end > mono}
        if holds:
            now = self.now()
            until = {h: now + int(x * 1000) for h, x in holds.items()}
            try:
                try:
                    self.repo.share_backoff(until, wait_ms=LEAVE_LOCK_WAIT_MS)
                except DBAPIError as exc:
                    if not exc.connection_invalidated:
                        raise
                    # the connection was cut under the statement (the server restarted,
                    # pg_terminate_backend, a proxy's idle cut): once more on a new one,
                    # as the leave's own statement goes on one (the pool's pre-ping)
                    self.repo.share_backoff(until, wait_ms=LEAVE_LOCK_WAIT_MS)
            except SQLAlchemyError as exc:  # the leave is still tried, and says so if it fails
                log.warning(
                    "the Retry-After holds of %d hosts could not be shared as the daemon "
                    "left (%s): the next start, or another member, may ask them before "
                    "their holds end",
                    len(holds),
                    first_line(exc),
                )
        self.repo.leave(self.id)

    def maintenance_due(self) -> bool:
        """This member leads and this period's maintenance has not run yet."""
        if not self.leader:
            return False
        period_ms = int(self._settings().maintenance_interval * 1000)
        return self.repo.start_run(MAINTENANCE, self.id, period_ms)

    def maintenance_failed(self) -> None:
        """The run `maintenance_due` granted failed: it is run again at the next tick."""
        self.repo.fail_run(MAINTENANCE, self.id)

    def summary(self) -> dict[str, Any]:
        """For /readyz."""
        view = self.view
        may, buckets = self.scope()
        stuck = [m.id for m in view.stuck] if view else []
        return {
            "member": self.id,
            "members": len(view.live) if view else 0,
            "leader": view.leader if view else None,
            "buckets": "all" if buckets is None else len(buckets),
            "claiming": may,
            **({"stuck": stuck} if stuck else {}),
            **({"rules_differ": [m for m, _ in self._rules_differ]} if self._rules_differ else {}),
            **({"heartbeat": f"failing: {self.error}"} if self.error else {}),
        }

    def stuck_detail(self) -> str | None:
        """For /readyz: why this member is stuck, or None."""
        if self.stuck_since is None:
            return None
        return "no result recorded while holding claims for a whole lease; hosts handed over"
