"""Prometheus metrics (CONTRACT section 5) on the application's own registry.

Counters and the duration histogram are updated as checks finish; every
gauge is computed at scrape time from the database (a custom Collector), so
the numbers are those of the store, shared by every daemon writing to it,
and nothing has to be kept in step by hand. Label values come from closed
sets (kinds, states, outcomes, problem codes, signature statuses) except
`provider`, which is capped to the providers with the most targets down.
"""

from __future__ import annotations

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
from monitor.model import Kind, Outcome, ProblemCode, SignatureStatus
from monitor.state import State
from monitor.storage.repository import Snapshot

log = logging.getLogger(__name__)

PREFIX = "article_monitor_"
MAX_PROVIDERS = 100
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StateCollector(Collector):
    """Gauges read from a Snapshot at scrape time (cached briefly: scrapes are cheap)."""

    def __init__(self, source: Callable[[], Snapshot], *, ttl: float = 2.0) -> None:
        self._source = source
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, Snapshot] | None = None

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            try:
                snap = self._source()
            except Exception as exc:  # the DB is down: say so in /readyz, omit these gauges
                log.warning("metrics: cannot read the database: %s", type(exc).__name__)
                return None
            self._cached = (now, snap)
            return snap

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
        worst = sorted(snap.provider_down.items(), key=lambda kv: (-kv[1], kv[0]))
        for provider, n in worst[:MAX_PROVIDERS]:
            down.add_metric([provider], n)
        yield down
        lag = 0.0
        if snap.oldest_due_ms is not None:
            lag = max(0.0, time.time() - snap.oldest_due_ms / 1000.0)
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
    """The daemon's registry: counters fed by the checks, gauges read at scrape time."""

    def __init__(self, source: Callable[[], Snapshot], *, ttl: float = 2.0) -> None:
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
        for kind in Kind:
            self.duration.labels(kind.value)
            for outcome in Outcome:
                self.checks.labels(kind.value, outcome.value)
        self.state = StateCollector(source, ttl=ttl)
        self.registry.register(self.state)

    def observe(self, kind: Kind, outcome: Outcome, seconds: float | None) -> None:
        self.checks.labels(kind.value, outcome.value).inc()
        if seconds is not None:
            self.duration.labels(kind.value).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
