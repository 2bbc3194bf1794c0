"""Pure: the alert table as Grafana-managed alerting, in file provisioning format.

Each rule is three queries, as Grafana's rule editor makes them: A runs the
PromQL (instant), B reduces it to its last value, C fires when B > 0. The
expressions keep only the series that should fire, so "no data" means OK,
except for an `absent()` rule, where an error or no data is itself the alarm.
The same rule objects, wrapped for the HTTP API, are what `grafana push`
sends (`api_rule`).
"""

from __future__ import annotations

import re
from typing import Any

from monitor.grafana.prometheus import GROUP, Links
from monitor.grafana.rules import AlertRule, duration

# Grafana's rule for a uid; anything else would also change the API path it is put in,
# and a `$` in a provisioning file is expanded from Grafana's environment
UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
DATASOURCE_UID = "prometheus"  # provision your Prometheus data source with this uid
FOLDER_UID = "article-monitor"
FOLDER_TITLE = "article-monitor"


def rule_uid(rule: AlertRule) -> str:
    """A stable uid (Grafana allows 40 characters): pushes update, never duplicate."""
    return f"am-{rule.name.removeprefix('Article').lower()}"[:40]


def _data(rule: AlertRule, datasource_uid: str) -> list[dict[str, Any]]:
    return [
        {
            "refId": "A",
            "relativeTimeRange": {"from": 600, "to": 0},
            "datasourceUid": datasource_uid,
            "model": {"refId": "A", "expr": rule.expr, "instant": True, "range": False},
        },
        {
            "refId": "B",
            "datasourceUid": "__expr__",
            "model": {
                "refId": "B",
                "type": "reduce",
                "expression": "A",
                "reducer": "last",
                "settings": {"mode": "dropNN"},
            },
        },
        {
            "refId": "C",
            "datasourceUid": "__expr__",
            "model": {
                "refId": "C",
                "type": "threshold",
                "expression": "B",
                "conditions": [{"evaluator": {"type": "gt", "params": [0]}}],
            },
        },
    ]


def _rule_body(rule: AlertRule, links: Links, datasource_uid: str) -> dict[str, Any]:
    return {
        "uid": rule_uid(rule),
        "title": rule.name,
        "condition": "C",
        "data": _data(rule, datasource_uid),
        "noDataState": "Alerting" if rule.no_data_fires else "OK",
        "execErrState": "Alerting" if rule.no_data_fires else "Error",
        "for": duration(rule.for_s),
        "labels": {"severity": str(rule.severity)},
        "annotations": links.annotations(rule),
        "isPaused": False,
    }


def alert_rules_file(
    rules: list[AlertRule], links: Links, datasource_uid: str = DATASOURCE_UID
) -> dict[str, Any]:
    """`provisioning/alerting/article-monitor-rules.yaml`."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER_TITLE,
                "interval": "1m",
                "rules": [_rule_body(r, links, datasource_uid) for r in rules],
            }
        ],
    }


def api_rule(
    rule: AlertRule, links: Links, folder_uid: str, datasource_uid: str = DATASOURCE_UID
) -> dict[str, Any]:
    """The same rule as `POST /api/v1/provisioning/alert-rules` takes it."""
    body = _rule_body(rule, links, datasource_uid)
    body.update({"orgID": 1, "folderUID": folder_uid, "ruleGroup": GROUP})
    return body


def contact_points_file(webhook_url: str = "http://127.0.0.1:9099/alerts") -> dict[str, Any]:
    """An example contact point: a webhook. Replace it with e-mail, Slack, PagerDuty…"""
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": 1,
                "name": "article-monitor-webhook",
                "receivers": [
                    {
                        "uid": "am-webhook",
                        "type": "webhook",
                        "settings": {"url": webhook_url, "httpMethod": "POST"},
                        "disableResolveMessage": False,
                    }
                ],
            }
        ],
    }


def policies_file() -> dict[str, Any]:
    """An example notification policy: critical alerts at once, warnings grouped."""
    return {
        "apiVersion": 1,
        "policies": [
            {
                "orgId": 1,
                "receiver": "article-monitor-webhook",
                "group_by": ["grafana_folder", "alertname"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
                "routes": [
                    {
                        "receiver": "article-monitor-webhook",
                        "object_matchers": [["severity", "=", "critical"]],
                        "group_wait": "10s",
                        "repeat_interval": "1h",
                    }
                ],
            }
        ],
    }
