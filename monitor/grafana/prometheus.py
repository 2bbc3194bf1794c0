"""Pure: the alert table as a Prometheus rule file and a Kubernetes `PrometheusRule`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.grafana.rules import AlertRule, duration

GROUP = "article-monitor"


@dataclass(frozen=True, slots=True)
class Links:
    """Where an alert's annotations point: the runbook and the daemon's status page."""

    # the project has no public site: point this at wherever your copy of the docs is served
    runbook_base: str = "docs/operations.md"
    status_base: str = "http://127.0.0.1:9464"

    def annotations(self, rule: AlertRule) -> dict[str, str]:
        out = {
            "summary": rule.summary,
            "description": rule.description,
            "runbook_url": f"{self.runbook_base}#{rule.runbook}",
        }
        base = self.status_base.rstrip("/")
        out["status_url"] = f"{base}/targets?{rule.status_query}" if rule.status_query else base
        return out


def rule_groups(rules: list[AlertRule], links: Links, interval_s: int = 60) -> list[dict[str, Any]]:
    return [
        {
            "name": GROUP,
            "interval": duration(interval_s),
            "rules": [
                {
                    "alert": r.name,
                    "expr": r.expr,
                    "for": duration(r.for_s),
                    "labels": {"severity": str(r.severity)},
                    "annotations": links.annotations(r),
                }
                for r in rules
            ],
        }
    ]


def rule_file(rules: list[AlertRule], links: Links, interval_s: int = 60) -> dict[str, Any]:
    """The `rule_files:` document Prometheus loads (`promtool check rules` clean)."""
    return {"groups": rule_groups(rules, links, interval_s)}


def prometheus_rule(
    rules: list[AlertRule], links: Links, namespace: str = "monitoring"
) -> dict[str, Any]:
    """The same groups as a prometheus-operator `PrometheusRule` resource."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "article-monitor",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "article-monitor", "role": "alert-rules"},
        },
        "spec": {"groups": rule_groups(rules, links)},
    }
