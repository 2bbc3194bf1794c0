"""The metric set is exactly the contract's: names, types, labels, bounded values."""

from __future__ import annotations

import asyncio
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from monitor.observe.metrics import (
    MAX_PROVIDERS,
    SNAPSHOT_MAX_INTERVAL,
    SNAPSHOT_MIN_INTERVAL,
    DaemonMetrics,
    snapshot_wait,
)
from monitor.storage.repository import Snapshot
from monitor.vocabulary import Kind, Outcome, ProblemCode, SignatureStatus

CONTRACT = {
    "article_monitor_checks": ("counter", {"kind", "outcome"}),
    "article_monitor_check_duration_seconds": ("histogram", {"kind"}),
    "article_monitor_targets": ("gauge", {"kind", "state"}),
    "article_monitor_problems": ("gauge", {"code"}),
    "article_monitor_signatures": ("gauge", {"status"}),
    "article_monitor_articles": ("gauge", set()),
    "article_monitor_provider_targets_down": ("gauge", {"provider"}),
    "article_monitor_cycle_lag_seconds": ("gauge", set()),
    "article_monitor_last_check_timestamp_seconds": ("gauge", set()),
    "article_monitor_invalid_documents": ("gauge", set()),
    "article_monitor_build_info": ("gauge", {"version"}),
    # section 8: the cluster
    "article_monitor_cluster_members": ("gauge", set()),
    "article_monitor_cluster_leader": ("gauge", set()),
    # added in the section 8 family (issue 14: stuck members)
    "article_monitor_cluster_stuck_members": ("gauge", set()),
    # beyond the contract: held-back hosts, whose deferred backlog no contract
    # metric shows (docs/operations.md, "The daemon and a held-back host")
    "article_monitor_held_back_hosts": ("gauge", set()),
    "article_monitor_deferred_checks": ("counter", set()),
}


def families(metrics: DaemonMetrics) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}


def snapshot() -> Snapshot:
    return Snapshot(
        targets={("web", "up"): 5, ("image", "down"): 2},
        problems={"soft_404": 3},
        signatures={"valid": 4, "tampered": 1},
        articles=5,
        provider_down={f"p{i}.test": i + 1 for i in range(MAX_PROVIDERS + 50)},
        oldest_due_ms=int((time.time() - 120) * 1000),
        last_check_ms=1_700_000_000_000,
        invalid_documents=2,
    )


def test_exactly_the_contract_metrics_with_their_labels() -> None:
    m = DaemonMetrics(snapshot)
    m.observe(Kind.WEB, Outcome.OK, 0.2)
    fams = families(m)
    assert set(fams) == set(CONTRACT)
    for name, (mtype, labels) in CONTRACT.items():
        fam = fams[name]
        assert fam.type == mtype, name  # type: ignore[attr-defined]
        for sample in fam.samples:  # type: ignore[attr-defined]
            assert set(sample.labels) - {"le"} == labels, (name, sample)


def test_gauges_come_from_the_snapshot_and_closed_sets_are_zero_filled() -> None:
    fams = families(DaemonMetrics(snapshot))
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in fams.values()
        for s in f.samples  # type: ignore[attr-defined]
    }
    assert values[("article_monitor_targets", (("kind", "web"), ("state", "up")))] == 5
    assert values[("article_monitor_targets", (("kind", "amp"), ("state", "unknown")))] == 0
    assert values[("article_monitor_problems", (("code", "soft_404"),))] == 3
    assert sum(1 for k in values if k[0] == "article_monitor_problems") == len(ProblemCode)
    assert sum(1 for k in values if k[0] == "article_monitor_signatures") == len(SignatureStatus)
    assert values[("article_monitor_signatures", (("status", "tampered"),))] == 1
    assert values[("article_monitor_articles", ())] == 5
    assert values[("article_monitor_invalid_documents", ())] == 2
    assert values[("article_monitor_last_check_timestamp_seconds", ())] == 1_700_000_000
    assert 119 <= values[("article_monitor_cycle_lag_seconds", ())] < 200
    assert values[("article_monitor_build_info", (("version", "0.1.0"),))] == 1
    checks = [k for k in values if k[0] == "article_monitor_checks_total"]
    assert len(checks) == len(Kind) * len(Outcome)  # pre-initialised: rate() works from zero


def test_provider_label_is_capped_to_the_worst() -> None:
    fams = families(DaemonMetrics(snapshot))
    down = fams["article_monitor_provider_targets_down"].samples  # type: ignore[attr-defined]
    assert len(down) == MAX_PROVIDERS
    assert min(s.value for s in down) == 51  # the 50 least-affected providers are left out


def test_an_unreadable_database_drops_the_gauges_but_not_the_counters() -> None:
    def broken() -> Snapshot:
        raise OSError("disk gone")

    fams = families(DaemonMetrics(broken))
    assert "article_monitor_targets" not in fams
    assert "article_monitor_checks" in fams and "article_monitor_build_info" in fams


def test_scrapes_of_a_small_store_are_exact() -> None:
    calls = []

    def source() -> Snapshot:
        calls.append(1)
        return Snapshot(articles=len(calls))

    m = DaemonMetrics(source)  # snapshots here take microseconds: one per scrape
    values = [families(m)["article_monitor_articles"].samples[0].value for _ in range(3)]  # type: ignore[attr-defined]
    assert values == [1, 2, 3]


def test_scrapes_of_a_big_store_read_the_last_snapshot_only() -> None:
    calls = []

    def source() -> Snapshot:
        calls.append(1)
        return Snapshot(articles=len(calls))

    m = DaemonMetrics(source, fresh_below=0.0)  # as if every snapshot were expensive
    assert m.state.refresh()
    for _ in range(3):
        assert families(m)["article_monitor_articles"].samples[0].value == 1  # type: ignore[attr-defined]
    assert len(calls) == 1
    m.state.refresh()
    assert families(m)["article_monitor_articles"].samples[0].value == 2  # type: ignore[attr-defined]


def test_a_failed_refresh_drops_the_gauges_until_one_succeeds() -> None:
    ok = [True]

    def source() -> Snapshot:
        if not ok[0]:
            raise OSError("disk gone")
        return snapshot()

    m = DaemonMetrics(source)
    assert "article_monitor_targets" in families(m)
    ok[0] = False
    assert not m.state.refresh()
    assert "article_monitor_targets" not in families(m)
    ok[0] = True
    assert m.state.refresh() and "article_monitor_targets" in families(m)


def test_snapshot_cadence_follows_its_cost() -> None:
    assert snapshot_wait(0.001) == SNAPSHOT_MIN_INTERVAL
    assert snapshot_wait(0.5) == 5.0
    assert snapshot_wait(30.0) == SNAPSHOT_MAX_INTERVAL


async def test_keep_fresh_snapshots_in_a_worker_thread_until_cancelled() -> None:
    threads = []

    def source() -> Snapshot:
        threads.append(threading.get_ident())
        return Snapshot()

    m = DaemonMetrics(source)
    task = asyncio.create_task(m.keep_fresh())
    for _ in range(100):
        if threads:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert threads and threading.get_ident() not in threads


def test_each_observation_counts_under_its_own_labels() -> None:
    """The children are made once (issue 16): each kind and outcome still lands
    on its own series, and a check without a latency counts but is not timed."""
    m = DaemonMetrics(snapshot)
    seen = [(k, o) for k in Kind for o in Outcome]
    for n, (kind, outcome) in enumerate(seen):
        for _ in range(n % 3 + 1):
            m.observe(kind, outcome, None if n % 2 else 0.01)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(m.render().decode())
        for s in f.samples
    }
    for n, (kind, outcome) in enumerate(seen):
        key = ("article_monitor_checks_total", (("kind", kind.value), ("outcome", outcome.value)))
        assert samples[key] == n % 3 + 1
    for kind in Kind:
        timed = sum(n % 3 + 1 for n, (k, _) in enumerate(seen) if k is kind and not n % 2)
        key = ("article_monitor_check_duration_seconds_count", (("kind", kind.value),))
        assert samples[key] == timed


@given(
    st.dictionaries(
        st.text(max_size=6), st.integers(min_value=1, max_value=4), max_size=3 * MAX_PROVIDERS
    )
)
@settings(max_examples=40, deadline=None)
def test_the_worst_providers_are_those_of_a_full_sort(down: dict[str, int]) -> None:
    """The label's providers are picked with a heap (a hostile corpus of 1M providers
    down cost 0.53 s of a scrape to sort, 0.09 s so): the same ones, in the same
    order, as sorting all of them, ties broken by name."""
    snap = Snapshot(provider_down=down)
    fams = families(DaemonMetrics(lambda: snap))
    got = [
        (s.labels["provider"], s.value)
        for s in fams["article_monitor_provider_targets_down"].samples  # type: ignore[attr-defined]
    ]
    full = sorted(down.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PROVIDERS]
    assert got == [(p, float(n)) for p, n in full]
