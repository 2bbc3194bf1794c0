"""The operator's reference in docs/ names what the code has, as the code spells it.

A new user looks a setting up in docs/operations.md ("Every setting") and an
alert's name in the runbook; both drifted: seven settings (`connect_timeout`,
`backoff_base`, `max_redirects`, ...) were documented nowhere, and
docs/deploy.md named an alert `ArticleMonitorDown` that no rule has.
"""

import json
import re
from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.grafana.rules import alert_rules

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _settings_table() -> dict[str, Any]:
    section = OPERATIONS.split("\n## Every setting\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_.]+)` \| `([^`]*)` \|", section, re.MULTILINE)
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), "a setting listed twice"
    return {name: json.loads(default) for name, default in rows}


def test_every_setting_is_in_the_reference_with_its_default() -> None:
    defaults = _flat(Settings().model_dump(mode="json"))
    documented = _settings_table()
    assert sorted(documented) == sorted(defaults)
    for name, default in defaults.items():
        assert documented[name] == default, name


def test_every_alert_the_docs_name_is_a_rule() -> None:
    rules = {rule.name for rule in alert_rules()}
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for path in texts:
        for name in re.findall(r"\bArticle[A-Z][A-Za-z]+\b", path.read_text()):
            assert name in rules, f"{path.name} names {name}, which is no alert rule"


def test_every_rule_is_in_the_alerting_table_and_has_a_runbook() -> None:
    """docs/alerting.md's table of the alerts left ArticleLinksDrifted out."""
    alerting = (ROOT / "docs" / "alerting.md").read_text()
    table = alerting.split("\n## The alerts\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| (Article[A-Za-z]+) \|", table, re.MULTILINE)
    runbooks = re.findall(r"^### (Article[A-Za-z]+)$", OPERATIONS, re.MULTILINE)
    names = [rule.name for rule in alert_rules()]
    assert listed == names
    assert runbooks == names
