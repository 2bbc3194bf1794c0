"""An ARTICLE_MONITOR_* variable one typo away from a setting was silently
ignored (`ARTICLE_MONITOR_CONCURENCY=8` ran with 64): it is now named, with
the setting meant, on stderr. Variables far from any setting are left alone."""

from __future__ import annotations

from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Settings
from monitor.config_sources import env_near_misses


def test_a_near_miss_names_the_setting_meant() -> None:
    found = env_near_misses(
        Settings.model_fields,
        {
            "ARTICLE_MONITOR_CONCURENCY": "8",
            "ARTICLE_MONITOR_PERHOST": "2",
            "ARTICLE_MONITOR_INTERVAL__WEB": "60",
        },
    )
    assert found == [
        ("ARTICLE_MONITOR_CONCURENCY", "ARTICLE_MONITOR_CONCURRENCY"),
        ("ARTICLE_MONITOR_INTERVAL__WEB", "ARTICLE_MONITOR_INTERVALS__WEB"),
        ("ARTICLE_MONITOR_PERHOST", "ARTICLE_MONITOR_PER_HOST"),
    ]


def test_settings_other_names_and_far_names_are_quiet() -> None:
    environ = {
        "ARTICLE_MONITOR_CONCURRENCY": "8",
        "ARTICLE_MONITOR_INTERVALS__WEB": "60",
        "ARTICLE_MONITOR_KEY": "00",
        "ARTICLE_MONITOR_CONFIG": "/etc/m.toml",
        "ARTICLE_MONITOR_SCREENSHOTS": "1",
        "article_monitor_per_host": "2",
        "HOME": "/root",
    }
    assert env_near_misses(Settings.model_fields, environ) == []


def test_the_cli_warns_on_stderr_and_goes_on() -> None:
    result = CliRunner().invoke(cli, ["config", "show"], env={"ARTICLE_MONITOR_CONCURENCY": "8"})
    assert result.exit_code == 0, result.output
    assert (
        "Warning: ARTICLE_MONITOR_CONCURENCY is not a setting (ignored); "
        "did you mean ARTICLE_MONITOR_CONCURRENCY?"
    ) in result.stderr
    assert result.stdout.startswith("{")
