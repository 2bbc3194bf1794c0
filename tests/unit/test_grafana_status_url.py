"""`grafana export` (and `push`) link the alerts to the configured `public_url` when
--status-url is not given: the address people reach the daemon's pages at
behind a proxy, not the daemon's own loopback listener."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli

RULES = Path("prometheus/article-monitor.rules.yml")


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARTICLE_MONITOR_CONFIG", "ARTICLE_MONITOR_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def export(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    out = tmp_path / "g"
    result = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), *extra], env=env)
    assert result.exit_code == 0, result.output
    return (out / RULES).read_text()


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "am.toml"
    path.write_text(text)
    return path


def test_the_configured_public_url_is_the_default(tmp_path: Path) -> None:
    toml = config(tmp_path, 'public_url = "https://status.example/monitor/"\n')
    rules = export(tmp_path, "--config", str(toml))
    assert "https://status.example/monitor/targets?" in rules
    assert "127.0.0.1:9464" not in rules


def test_the_environment_counts_as_configuration(tmp_path: Path) -> None:
    rules = export(tmp_path, env={"ARTICLE_MONITOR_PUBLIC_URL": "https://env.example"})
    assert "https://env.example/targets?" in rules


def test_the_flag_wins_over_the_configuration(tmp_path: Path) -> None:
    toml = config(tmp_path, 'public_url = "https://status.example"\n')
    rules = export(tmp_path, "--config", str(toml), "--status-url", "https://flag.example")
    assert "https://flag.example/targets?" in rules and "status.example" not in rules


def test_without_either_the_daemons_default_address(tmp_path: Path) -> None:
    assert "http://127.0.0.1:9464/targets?" in export(tmp_path)


def test_a_broken_configuration_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    toml = config(tmp_path, 'public_url = "ftp://nope"\n')
    result = CliRunner().invoke(
        cli, ["grafana", "export", "--out", str(tmp_path / "g"), "--config", str(toml)]
    )
    assert result.exit_code == 2 and "public_url" in result.output
    assert "Traceback" not in result.output


def test_the_help_says_where_the_default_comes_from() -> None:
    for command in ("export", "push"):
        result = CliRunner().invoke(cli, ["grafana", command, "--help"])
        assert "configured public_url" in " ".join(result.output.split())
