"""The shipped Grafana dashboard uses only the contract's metrics (CONTRACT section 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Snapshot

DASHBOARD = Path(__file__).resolve().parents[2] / "examples" / "grafana" / "article-monitor.json"

# CONTRACT section 5, name → type
CONTRACT = {
    "article_monitor_checks_total": "counter",
    "article_monitor_check_duration_seconds": "histogram",
    "article_monitor_targets": "gauge",
    "article_monitor_problems": "gauge",
    "article_monitor_signatures": "gauge",
    "article_monitor_articles": "gauge",
    "article_monitor_provider_targets_down": "gauge",
    "article_monitor_cycle_lag_seconds": "gauge",
    "article_monitor_last_check_timestamp_seconds": "gauge",
    "article_monitor_invalid_documents": "gauge",
    "article_monitor_build_info": "gauge",
}
CONTRACT_LABELS = {"kind", "outcome", "state", "code", "status", "provider", "version", "le"}
# what Prometheus adds on scrape, and Grafana's own template variables
SCRAPE_LABELS = {"instance", "job"}


def series_names() -> set[str]:
    """Every series name a PromQL query may use: histograms add _bucket/_sum/_count."""
    names = set()
    for name, kind in CONTRACT.items():
        names.add(name)
        if kind == "histogram":
            names.update(name + s for s in ("_bucket", "_sum", "_count"))
    return names


def exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        for value in node.values():
            found.extend(exprs(value))
        return found
    if isinstance(node, list):
        return [e for item in node for e in exprs(item)]
    return []


def test_the_contract_list_is_what_the_daemon_exposes() -> None:
    text = DaemonMetrics(Snapshot).render().decode()
    exposed = set(re.findall(r"^# TYPE (\S+) (\w+)$", text, re.M))
    exposed_names = {
        n if kind != "counter" or n.endswith("_total") else n + "_total": kind
        for n, kind in exposed
    }
    assert exposed_names == CONTRACT


def test_every_query_uses_only_contract_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = exprs(dashboard["panels"])
    assert len(queries) >= 12
    allowed = series_names()
    used: set[str] = set()
    for q in queries:
        names = set(re.findall(r"\barticle_monitor_[a-z_]+\b", q))
        assert names, f"no article-monitor metric in {q!r}"
        assert names <= allowed, f"{q!r} uses {names - allowed}"
        used |= names
        # a bare identifier before `{`, `[` or `)` that is not ours would be a foreign metric
        for ident in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", q):
            assert ident in allowed, f"{q!r} selects {ident}"
        for label in re.findall(r"(\w+)\s*(?:=~|!=|!~|=)\s*\"", q):
            assert label in CONTRACT_LABELS | SCRAPE_LABELS, f"{q!r} filters on {label}"
        for group in re.findall(r"\bby\s*\(([^)]*)\)", q):
            for label in (g.strip() for g in group.split(",")):
                assert label in CONTRACT_LABELS | SCRAPE_LABELS, f"{q!r} groups by {label}"
    # what the brief asks the dashboard to show is there
    wanted = {
        "article_monitor_targets",
        "article_monitor_checks_total",
        "article_monitor_check_duration_seconds_bucket",
        "article_monitor_problems",
        "article_monitor_signatures",
        "article_monitor_provider_targets_down",
        "article_monitor_cycle_lag_seconds",
        "article_monitor_last_check_timestamp_seconds",
        "article_monitor_invalid_documents",
    }
    assert wanted <= used


def test_the_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "article-monitor"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
    used_vars = set(re.findall(r"\$(\w+)", json.dumps(dashboard["panels"])))
    assert used_vars <= variables | {"__rate_interval"}
