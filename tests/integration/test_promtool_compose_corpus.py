"""The compose stack's own corpus pages nobody: its records' signature statuses,
as `verify` finds them with the stack's settings (no key: 17 of 18 records carry
no `secured`), fed to the generated rules through `promtool test rules`, never
fire the critical ArticleSignaturesFailing (ArticleSignaturesMissing, a warning,
is tests/promtool/alerts.test.yml's). Before, `missing` was one of Failing's
statuses, `for: 0s`: the stack paged within a minute of its start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.grafana.rules import alert_rules

PROMTOOL = shutil.which("promtool")
CLI = str(Path(sys.executable).with_name("article-monitor"))
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "grafana" / "prometheus" / "article-monitor.rules.yml"
CORPUS = ROOT / "examples" / "articles"  # deploy/compose.yaml mounts it as /corpus
pytestmark = [
    pytest.mark.promtool,
    pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (scripts/test-deps.sh)"),
]


def compose_statuses() -> dict[str, int]:
    """`by_status` of the corpus with the compose stack's settings: no key configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    out = subprocess.run(
        [CLI, "verify", str(CORPUS), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode in (0, 1), out.stderr
    by_status = json.loads(out.stdout)["summary"]["by_status"]
    assert isinstance(by_status, dict)
    return {str(k): int(v) for k, v in by_status.items()}


def test_the_compose_corpus_never_pages(tmp_path: Path) -> None:
    statuses = compose_statuses()
    assert statuses.get("missing", 0) > 0  # else this test proves nothing
    critical = {r.name for r in alert_rules() if r.severity == "critical"}
    assert "ArticleSignaturesFailing" in critical and "ArticleSignaturesMissing" not in critical
    series = [
        {
            "series": f'article_monitor_signatures{{job="am",instance="c:9464",status="{status}"}}',
            "values": f"{count}x120",
        }
        for status, count in statuses.items()
    ]
    never = [
        {"eval_time": f"{m}m", "alertname": "ArticleSignaturesFailing", "exp_alerts": []}
        for m in (1, 5, 30, 60, 119)
    ]
    cases = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": never}],
    }
    (tmp_path / "compose.test.yml").write_text(yaml.safe_dump(cases))
    assert PROMTOOL
    out = subprocess.run(
        [PROMTOOL, "test", "rules", "compose.test.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
