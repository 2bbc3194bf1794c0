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
