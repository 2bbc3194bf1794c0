"""promtool: a real scrape of /metrics parses cleanly; the generated alert rules
(grafana/prometheus/) are valid and behave as their unit tests say."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.observe.endpoints import MetricsServer
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.vocabulary import Kind, Outcome

PROMTOOL = shutil.which("promtool")
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "grafana" / "prometheus" / "article-monitor.rules.yml"
RULE_TESTS = ROOT / "tests" / "promtool"
pytestmark = [
    pytest.mark.promtool,
    pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (scripts/test-deps.sh)"),
]


def promtool(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, cwd=cwd, timeout=60)


async def test_a_real_scrape_passes_promtool_check_metrics(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    await asyncio.to_thread(upgrade, engine)
    metrics = DaemonMetrics(Repository(engine).snapshot)
    metrics.observe(Kind.WEB, Outcome.OK, 0.12)
    metrics.observe(Kind.IMAGE, Outcome.NOT_FOUND, 0.03)

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    server = MetricsServer(metrics, ready, listen="127.0.0.1:0")
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/metrics") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain")
                body = await resp.read()
    finally:
        await server.stop()
        engine.dispose()
    out = await asyncio.to_thread(promtool, "check", "metrics", stdin=body)
    assert out.returncode == 0, (out.stdout + out.stderr).decode()
    assert b"article_monitor_targets{" in body


def test_alert_rules_are_valid() -> None:
    out = promtool("check", "rules", str(RULES))
    assert out.returncode == 0, (out.stdout + out.stderr).decode()


def test_alert_rules_pass_their_unit_tests() -> None:
    out = promtool("test", "rules", "alerts.test.yml", cwd=RULE_TESTS)
    assert out.returncode == 0, (out.stdout + out.stderr).decode()


def test_rules_exported_at_every_thresholds_bound_pass_promtool(tmp_path: Path) -> None:
    """The bounds of `grafana export`'s thresholds keep the rule file loadable: at
    each bound promtool accepts it, and one past a bound is refused with exit 2
    (10**400 was written as is and refused by Prometheus where it was loaded)."""
    from click.testing import CliRunner

    from monitor.cli import cli
    from monitor.grafana.rules import THRESHOLD_MAX

    flags = {
        "down_min": "--down-min",
        "provider_down_min": "--provider-down-min",
        "stalled_after_s": "--stalled-after",
        "lag_s": "--lag",
        "cluster_members": "--cluster-members",
    }
    at_bounds = [arg for key, flag in flags.items() for arg in (flag, str(THRESHOLD_MAX[key]))]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), *at_bounds])
    assert result.exit_code == 0, result.output
    checked = promtool("check", "rules", str(out / "prometheus" / "article-monitor.rules.yml"))
    assert checked.returncode == 0, (checked.stdout + checked.stderr).decode()
    for key, flag in flags.items():
        past = CliRunner().invoke(
            cli, ["grafana", "export", "--out", str(tmp_path / key), flag, str(10**400)]
        )
        assert past.exit_code == 2 and "is not in the range" in past.output, past.output
        assert not (tmp_path / key).exists()
