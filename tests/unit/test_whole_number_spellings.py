"""A whole-number setting is spelled alike everywhere: ASCII digits with an
optional sign. Before, `--concurrency ١٠` (Arabic-Indic digits) and `1_000`
were taken on the command line (click's `int`), `12.0` and `1_000` in the
environment (pydantic's lax `int`), and each refused what the other took."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import cli
from monitor.config import ConfigError, Settings, load_settings
from monitor.config_sources import is_whole
from monitor.durations import unit_of
from monitor.whole_numbers import parse_whole

ODD = ["1_000", "١٠", "12.0", "0x10", "1e3", "٣", "+-1", "1 0"]
WHOLE_SETTINGS = [n for n, f in Settings.model_fields.items() if is_whole(f) and unit_of(f) is None]


@given(st.text(alphabet="0123456789+- \t_.١x", max_size=8))
def test_a_spelling_is_read_as_int_reads_plain_ascii_digits(text: str) -> None:
    plain = text.strip(" \t")
    body = plain[1:] if plain[:1] in "+-" else plain
    if body and body.isascii() and body.isdigit():
        assert parse_whole(text) == int(plain)
    else:
        with pytest.raises(ValueError, match="is not a whole number"):
            parse_whole(text)


def test_every_integer_setting_is_covered() -> None:
    assert {"concurrency", "per_host", "retries", "down_after", "workers"} <= set(WHOLE_SETTINGS)


@pytest.mark.parametrize("name", WHOLE_SETTINGS)
@pytest.mark.parametrize("text", ODD)
def test_the_environment_refuses_odd_spellings(name: str, text: str) -> None:
    env = {f"ARTICLE_MONITOR_{name.upper()}": text}
    with pytest.raises(ConfigError, match=rf"{name} \(from environment .*\): .*not a whole number"):
        load_settings(None, {}, environ=env)


@pytest.mark.parametrize("text", ODD[:5])
def test_the_file_refuses_odd_spellings_in_a_string(tmp_path: Path, text: str) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(f'per_host = "{text}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"per_host .*not a whole number"):
        load_settings(toml, {}, environ={})


def test_plain_spellings_are_read_alike(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('per_host = " 7 "\nretries = 3\n')
    got = load_settings(toml, {}, environ={"ARTICLE_MONITOR_CONCURRENCY": "+12"})
    assert (got.per_host, got.retries, got.concurrency) == (7, 3, 12)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--offline", "--concurrency", "{}", "."],
        ["check", "--offline", "--workers", "{}", "."],
        ["status", "--limit", "{}"],
        ["grafana", "export", "--out", "out", "--down-min", "{}"],
    ],
    ids=["concurrency", "workers", "status-limit", "grafana-down-min"],
)
@pytest.mark.parametrize("text", ["1_0", "١٠", "12.0"])
def test_flags_refuse_odd_spellings(tmp_path: Path, args: list[str], text: str) -> None:
    argv = [a.format(text) if a == "{}" else a for a in args]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False, env={"HOME": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert "is not a whole number" in result.output


def test_a_flag_takes_a_plain_spelling_and_keeps_its_bounds(tmp_path: Path) -> None:
    out = tmp_path / "g"
    ok = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), "--down-min", "+7"])
    assert ok.exit_code == 0, ok.output
    low = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), "--down-min", "0"])
    assert low.exit_code == 2 and "1<=x<=" in low.output


def test_a_flag_past_every_bound_names_the_range(tmp_path: Path) -> None:
    huge = str(10**400)
    out = CliRunner().invoke(cli, ["grafana", "export", "--out", str(tmp_path), "--lag", huge])
    assert out.exit_code == 2 and "is not in the range 1<=x<=" in out.output
    assert "(401 characters)" in out.output  # quoted back in part, not 401 digits


@pytest.mark.parametrize("number", ["12.0", "1e3", "12.5"])
def test_the_file_refuses_a_decimal_for_a_whole_number(tmp_path: Path, number: str) -> None:
    """TOML's 12.0 and 1e3 were taken as 12 and 1000 where the flag, the environment
    and a TOML string refuse them."""
    toml = tmp_path / "c.toml"
    toml.write_text(f"concurrency = {number}\n")
    with pytest.raises(
        ConfigError, match=r"concurrency .*expected a whole number .*found the decimal"
    ):
        load_settings(toml, {}, environ={})


def test_grafana_seconds_flags_read_durations_in_whole_seconds(tmp_path: Path) -> None:
    """`--lag` and `--stalled-after` are SECONDS, as the other duration flags: `30m`
    was refused with "like 64"."""
    out = tmp_path / "g"
    ok = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), "--lag", "30m"])
    assert ok.exit_code == 0, ok.output
    rules = (out / "prometheus" / "article-monitor.rules.yml").read_text()
    assert "article_monitor_cycle_lag_seconds) > 1800" in rules
    half = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out), "--lag", "1.5"])
    assert half.exit_code == 2 and "not a whole number of seconds" in half.output
