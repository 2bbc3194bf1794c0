"""The Kubernetes PostgreSQL overlay's alert rules expect as many daemons as it runs.

The base's PrometheusRule is `grafana export` at its defaults, one member expected;
the overlay runs several replicas. With the base's rules, ArticleMonitorClusterShrunk
(`1 - max(cluster_members) > 0`) fired only once no member was left, so a cluster of
3 that lost 2 never said so. Rendered by kustomize and judged by promtool.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "kubernetes" / "overlays" / "postgres"
KUBECTL = shutil.which("kubectl")
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    KUBECTL is None or PROMTOOL is None,
    reason="kubectl or promtool not installed (scripts/test-deps.sh)",
)


def rendered() -> dict[str, dict[str, Any]]:
    assert KUBECTL
    out = subprocess.run(
        [KUBECTL, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return {d["kind"]: d for d in yaml.safe_load_all(out.stdout) if d}


def test_the_overlays_rules_are_the_export_for_its_replicas(tmp_path: Path) -> None:
    docs = rendered()
    replicas = docs["Deployment"]["spec"]["replicas"]
    assert replicas >= 2
    out = tmp_path / "out"
    args = ["grafana", "export", "--out", str(out), "--cluster-members", str(replicas)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    generated = (out / "kubernetes" / "prometheusrule.yaml").read_text()
    assert (OVERLAY / "prometheusrule.yaml").read_text() == generated, (
        f"regenerate {OVERLAY / 'prometheusrule.yaml'} with --cluster-members {replicas}"
    )
    rule = docs["PrometheusRule"]
    assert rule["spec"] == yaml.safe_load(generated)["spec"]
    assert rule["metadata"]["namespace"] == docs["Deployment"]["metadata"]["namespace"]


def test_a_replica_lost_fires_cluster_shrunk(tmp_path: Path) -> None:
    """Every member sees one fewer than the replicas for 20 minutes: the alert fires,
    and not while all are live (each member reports the live members it sees)."""
    docs = rendered()
    replicas = docs["Deployment"]["spec"]["replicas"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(docs["PrometheusRule"]["spec"]))
    live = replicas - 1
    series = [
        {
            "series": f'article_monitor_cluster_members{{job="am",instance="m{i}:9464"}}',
            "values": f"{replicas}x10 {live}x30",
        }
        for i in range(live)
    ]
    shrunk = {
        "exp_labels": {"severity": "warning", "job": "am"},
        "exp_annotations": {
            "summary": f"1 of the {replicas} expected daemons are missing",
            "description": (
                "Fewer live daemons share the database than expected: one died, cannot "
                "reach PostgreSQL, or was not restarted. The others check its hosts."
            ),
            "runbook_url": "docs/operations.md#articlemonitorclustershrunk",
            "status_url": "http://127.0.0.1:9464",
        },
    }
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "9m",
                        "alertname": "ArticleMonitorClusterShrunk",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "30m",
                        "alertname": "ArticleMonitorClusterShrunk",
                        "exp_alerts": [shrunk],
                    },
                ],
            }
        ],
    }
    (tmp_path / "t.yml").write_text(yaml.safe_dump(tests))
    assert PROMTOOL
    out = subprocess.run(
        [PROMTOOL, "test", "rules", "t.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
