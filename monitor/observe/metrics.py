"""Prometheus metrics (CONTRACT section 5) on the application's own registry.

Counters and the duration histogram are updated as checks finish; every
gauge comes from a Snapshot of the database (a custom Collector), so the
numbers are those of the store, shared by every daemon writing to it, and
nothing has to be kept in step by hand. The snapshot is taken in the
background (`keep_fresh`, in a worker thread) and a scrape only formats the
last one: at 1M targets a snapshot takes a fraction of a second, and a
scrape must neither wait for it nor block the event loop. While snapshots
are cheap (a small store: under FRESH_BELOW seconds), a scrape (in the
server's worker thread) takes a fresh one, so the gauges are exact there. The cycle lag is
computed at scrape time from the snapshot's oldest due time, so it keeps
growing between snapshots as it should. From the daemon's stop on no
snapshot is taken (`keep_fresh` is cancelled, `last_only`): the gauges are
the last snapshot's. Label values come from closed
sets (kinds, states, outcomes, problem codes, signature statuses) except
`provider`, which is capped to the providers with the most targets down.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.daemon.state import State
from monitor.daemon.tracked_threads import TrackedThreads
from monitor.storage.repository import Snapshot
from monitor.storage.store import now_ms
from monitor.vocabulary import Kind, Outcome, ProblemCode, SignatureStatus

log = logging.getLogger(__name__)

PREFIX = "article_monitor_"
MAX_PROVIDERS = 100
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SNAPSHOT_MIN_INTERVAL = 2.0
SNAPSHOT_MAX_INTERVAL = 15.0
FRESH_BELOW = 0.05  # a snapshot this cheap is taken per scrape
SNAPSHOT_DUTY = 10  # wait at least 10x what a snapshot took: <10% of a core on it


def snapshot_wait(took: float) -> float:
    """Seconds until the next snapshot: fresh on small stores, cheap on big ones."""
    return min(SNAPSHOT_MAX_INTERVAL, max(SNAPSHOT_MIN_INTERVAL, SNAPSHOT_DUTY * took))


class StateCollector(Collector):
    """Gauges from the last Snapshot; `refresh` (blocking, in a worker thread) takes one.

    A scrape reads the database only when no snapshot was attempted yet, or
    when the last one took under `fresh_below` seconds (a small store).
    """

    def __init__(
        self,
        source: Callable[[], Snapshot],
        *,
        fresh_below: float = FRESH_BELOW,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self._source = source
        self._clock_ms = clock_ms  # the clock due times are set by (a cluster's: the DB's)
        self._fresh_below = fresh_below
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._tried = False
        self._cost = float("inf")
        # the daemon is stopping: scrapes answer from the last snapshot (`last_only`)
        self._last_only = False

    def refresh(self) -> bool:
        """Take a snapshot now; on failure drop the gauges (they would be stale)."""
        started = time.monotonic()
        try:
            snap: Snapshot | None = self._source()
        except Exception as exc:  # the DB is down: say so in /readyz, omit these gauges
            log.warning("metrics: cannot read the database: %s", type(exc).__name__)
            snap = None
        with self._lock:
            self._snap = snap
            self._tried = True
            self._cost = time.monotonic() - started if snap is not None else float("inf")
        return snap is not None

    def last_only(self) -> None:
        """No snapshot from now on: scrapes answer from the last one taken (none
        if it failed). The daemon's stop: a scrape's fresh snapshot read a
        database the stop is giving up on, on a thread the stop then waited for."""
        with self._lock:
            self._last_only = True

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            if self._last_only or (self._tried and self._cost >= self._fresh_below):
                return self._snap
        self.refresh()
        with self._lock:
            return self._snap

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        if snap is None:
            return
        targets = GaugeMetricFamily(
            PREFIX + "targets", "Targets by kind and state.", labels=["kind", "state"]
        )
        for kind in Kind:
            for state in State:
                targets.add_metric([kind.value, state.value], snap.targets.get((kind, state), 0))
        yield targets
        problems = GaugeMetricFamily(
            PREFIX + "problems",
            "Current findings by problem code (article level and latest target checks).",
            labels=["code"],
        )
        for code in ProblemCode:
            problems.add_metric([code.value], snap.problems.get(code.value, 0))
        yield problems
        sigs = GaugeMetricFamily(
            PREFIX + "signatures", "Articles by `secured` verification status.", labels=["status"]
        )
        for status in SignatureStatus:
            sigs.add_metric([status.value], snap.signatures.get(status.value, 0))
        yield sigs
        yield GaugeMetricFamily(PREFIX + "articles", "Articles in the corpus.", value=snap.articles)
        down = GaugeMetricFamily(
            PREFIX + "provider_targets_down",
            f"Targets down per provider (the {MAX_PROVIDERS} providers with the most).",
            labels=["provider"],
        )
        # a heap, not a sort of every provider: a corpus may name a million (0.5 s a scrape)
        worst = heapq.nsmallest(
            MAX_PROVIDERS, snap.provider_down.items(), key=lambda kv: (-kv[1], kv[0])
        )
        for provider, n in worst:
            down.add_metric([provider], n)
        yield down
        lag = 0.0
        if snap.oldest_due_ms is not None:
            lag = max(0.0, (self._clock_ms() - snap.oldest_due_ms) / 1000.0)
        yield GaugeMetricFamily(
            PREFIX + "cycle_lag_seconds", "How far the oldest due target is overdue.", value=lag
        )
        yield GaugeMetricFamily(
            PREFIX + "last_check_timestamp_seconds",
            "When the last check was recorded (Unix time).",
            value=(snap.last_check_ms or 0) / 1000.0,
        )
        yield GaugeMetricFamily(
            PREFIX + "invalid_documents",
            "Corpus records that could not be used.",
            value=snap.invalid_documents,
        )


class DaemonMetrics:
    """The daemon's registry: counters fed by the checks, gauges from the last snapshot."""

    def __init__(
        self,
        source: Callable[[], Snapshot],
        *,
        fresh_below: float = FRESH_BELOW,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        # `*_created` series are not in the contract (and double the series count)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        self.checks = Counter(
            PREFIX + "checks",
            "Checks made, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            PREFIX + "check_duration_seconds",
            "Time of one check, retries and redirects included.",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        build = Gauge(
            PREFIX + "build_info", "The running version.", ["version"], registry=self.registry
        )
        build.labels(__version__).set(1)
        self.cluster_members = Gauge(
            PREFIX + "cluster_members",
            "Live daemons of the cluster sharing this database (1 on SQLite).",
            registry=self.registry,
        )
        self.cluster_leader = Gauge(
            PREFIX + "cluster_leader",
            "1 on the member that runs maintenance (retention, rollups), else 0.",
            registry=self.registry,
        )
        self.cluster_stuck = Gauge(
            PREFIX + "cluster_stuck_members",
            "Live members that hold claims but record no result (their hosts handed over).",
            registry=self.registry,
        )
        # hosts refusing the daemon (Retry-After, a 429/503 backoff), whose claims
        # it gives back due at the hold's end rather than wait (dispatch.py
        # `held_back`): such a backlog shows in neither `cycle_lag_seconds` (the
        # targets are due later) nor `checks_total` (nothing was checked)
        self.held_back_hosts = Gauge(
            PREFIX + "held_back_hosts",
            "Hosts whose checks wait out a Retry-After or a 429/503 backoff now.",
            registry=self.registry,
        )
        self.deferred_checks = Counter(
            PREFIX + "deferred_checks",
            "Claimed checks given back unsent, their host held back: due at the hold's end.",
            registry=self.registry,
        )
        self._deferred_seen = 0
        # the children of every label set, made once: prometheus-client's `labels()`
        # checks and joins its arguments under a lock at every call (issue 16)
        self._durations = {kind: self.duration.labels(kind.value) for kind in Kind}
        self._checks = {
            (kind, outcome): self.checks.labels(kind.value, outcome.value)
            for kind in Kind
            for outcome in Outcome
        }
        self.state = StateCollector(source, fresh_below=fresh_below, clock_ms=clock_ms)
        self.registry.register(self.state)

    def observe(self, kind: Kind, outcome: Outcome, seconds: float | None) -> None:
        self._checks[kind, outcome].inc()
        if seconds is not None:
            self._durations[kind].observe(seconds)

    def cluster(self, members: int, leader: bool, stuck: int = 0) -> None:
        self.cluster_members.set(members)
        self.cluster_leader.set(1 if leader else 0)
        self.cluster_stuck.set(stuck)

    def held(self, hosts: int, deferred: int) -> None:
        """The hosts held back now, and the dispatcher's count of claims given
        back for a hold so far (a running total: only its growth is added)."""
        self.held_back_hosts.set(hosts)
        if deferred > self._deferred_seen:
            self.deferred_checks.inc(deferred - self._deferred_seen)
        self._deferred_seen = deferred

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def keep_fresh(self, threads: TrackedThreads | None = None) -> None:
        """Until cancelled: snapshot in a worker thread, wait (`snapshot_wait`), again.
        `threads`: the daemon's, whose stop waits for a snapshot under way before
        the dispose (cancelled, a `to_thread` left its connection open)."""
        threads = threads if threads is not None else TrackedThreads()
        while True:
            started = time.monotonic()
            await threads.run(self.state.refresh, name="metrics-snapshot")
            await asyncio.sleep(snapshot_wait(time.monotonic() - started))
