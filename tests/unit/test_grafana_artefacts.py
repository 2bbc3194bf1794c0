"""The shipped dashboards and alert rules: generated, committed, and built only on
the contract's metrics (CONTRACT sections 5 and 7)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.grafana.export import artefacts
from monitor.grafana.rules import Thresholds, alert_rules
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Snapshot

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PROM_RULES = GRAFANA / "prometheus" / "article-monitor.rules.yml"
GRAFANA_RULES = GRAFANA / "provisioning" / "alerting" / "article-monitor-rules.yaml"

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
    # section 8 (the cluster)
    "article_monitor_cluster_members": "gauge",
    "article_monitor_cluster_leader": "gauge",
    "article_monitor_cluster_stuck_members": "gauge",  # added to the family (issue 14)
}
# exposed beyond the contract, used by no shipped alert or panel (docs/operations.md,
# "The daemon and a held-back host")
BEYOND = {
    "article_monitor_held_back_hosts": "gauge",
    "article_monitor_deferred_checks_total": "counter",
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
    assert exposed_names == CONTRACT | BEYOND


def all_queries() -> list[str]:
    """Every PromQL expression shipped: panels, Prometheus rules, Grafana rules."""
    queries = [q for path in DASHBOARDS for q in exprs(json.loads(path.read_text())["panels"])]
    for rel in (
        "prometheus/article-monitor.rules.yml",
        "provisioning/alerting/article-monitor-rules.yaml",
    ):
        queries += exprs(yaml.safe_load((GRAFANA / rel).read_text()))
    return queries


def check_query(q: str, allowed: set[str]) -> set[str]:
    """The article-monitor series `q` uses; fails on anything outside the contract."""
    names = set(re.findall(r"\barticle_monitor_[a-z_]+\b", q))
    assert names, f"no article-monitor metric in {q!r}"
    assert names <= allowed, f"{q!r} uses {names - allowed}"
    # a bare identifier before `{` that is not ours would be a foreign metric
    for ident in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", q):
        assert ident in allowed, f"{q!r} selects {ident}"
    for label in re.findall(r"(\w+)\s*(?:=~|!=|!~|=)\s*\"", q):
        assert label in CONTRACT_LABELS | SCRAPE_LABELS, f"{q!r} filters on {label}"
    for group in re.findall(r"\bby\s*\(([^)]*)\)", q):
        for label in (g.strip() for g in group.split(",")):
            assert label in CONTRACT_LABELS | SCRAPE_LABELS, f"{q!r} groups by {label}"
    return names


def test_every_query_uses_only_contract_metrics_and_labels() -> None:
    queries = all_queries()
    assert len(queries) >= 30
    allowed = series_names()
    used: set[str] = set()
    for q in queries:
        used |= check_query(q, allowed)
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


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_each_dashboard_is_importable(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"].startswith("article-monitor")
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
    used_vars = set(re.findall(r"\$(\w+)", json.dumps(dashboard["panels"])))
    assert used_vars <= variables | {"__rate_interval"}


def test_the_drilldown_has_provider_and_kind_variables() -> None:
    board = json.loads((GRAFANA / "dashboards" / "article-monitor-drilldown.json").read_text())
    assert {"provider", "kind"} <= {v["name"] for v in board["templating"]["list"]}
    text = json.dumps(board["panels"])
    assert "$provider" in text and "$kind" in text


def test_the_committed_grafana_folder_is_the_generator_output() -> None:
    """Nothing in grafana/ is edited by hand: regenerate with
    `article-monitor grafana export --out grafana`."""
    expected = artefacts()
    committed = {
        p.relative_to(GRAFANA).as_posix(): p.read_text(encoding="utf-8")
        for p in GRAFANA.rglob("*")
        if p.is_file()
    }
    assert set(committed) == set(expected)
    stale = sorted(rel for rel, text in expected.items() if committed[rel] != text)
    assert not stale, f"regenerate grafana/ (article-monitor grafana export --out grafana): {stale}"


def test_every_rule_is_in_every_format_with_a_runbook_section() -> None:
    names = [r.name for r in alert_rules()]
    prom = yaml.safe_load(PROM_RULES.read_text())
    graf = yaml.safe_load(
        (GRAFANA / "provisioning/alerting/article-monitor-rules.yaml").read_text()
    )
    k8s = yaml.safe_load((GRAFANA / "kubernetes/prometheusrule.yaml").read_text())
    assert [r["alert"] for r in prom["groups"][0]["rules"]] == names
    assert [r["title"] for r in graf["groups"][0]["rules"]] == names
    assert k8s["spec"]["groups"] == prom["groups"]
    runbook = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, re.M)
    }
    for rule in alert_rules():
        assert rule.runbook in anchors, f"docs/operations.md has no section for {rule.name}"


def test_grafana_rules_fire_on_data_and_treat_no_data_as_ok_except_absent() -> None:
    graf = yaml.safe_load(
        (GRAFANA / "provisioning/alerting/article-monitor-rules.yaml").read_text()
    )
    assert graf["apiVersion"] == 1
    for rule in graf["groups"][0]["rules"]:
        refs = [d["refId"] for d in rule["data"]]
        assert refs == ["A", "B", "C"] and rule["condition"] == "C"
        assert rule["data"][1]["model"]["type"] == "reduce"
        assert rule["data"][2]["model"]["type"] == "threshold"
        absent = rule["data"][0]["model"]["expr"].startswith("absent(")
        assert rule["noDataState"] == ("Alerting" if absent else "OK")
        assert set(rule["annotations"]) >= {"summary", "description", "runbook_url", "status_url"}


def test_thresholds_reach_the_expressions() -> None:
    rules = {r.name: r for r in alert_rules(Thresholds(down_share=0.2, down_min=7, for_factor=0))}
    assert "> 0.2" in rules["ArticleTargetsDown"].expr
    assert ">= 7" in rules["ArticleTargetsDown"].expr
    assert all(r.for_s == 0 for r in rules.values())
    with pytest.raises(ValueError):
        Thresholds(down_share=0)


def test_the_promtool_tests_cover_every_rule_firing_and_not() -> None:
    tests = yaml.safe_load((ROOT / "tests" / "promtool" / "alerts.test.yml").read_text())
    cases = [c for t in tests["tests"] for c in t["alert_rule_test"]]
    for rule in alert_rules():
        mine = [c for c in cases if c["alertname"] == rule.name]
        assert any(c["exp_alerts"] for c in mine), f"{rule.name} never fires in its tests"
        assert any(not c["exp_alerts"] for c in mine), f"{rule.name} never stays quiet"
