"""One parser of duration spellings for the three layers: `--interval 1h` on the
command line, `interval = "1h"` in the TOML file and ARTICLE_MONITOR_INTERVAL=1h
mean the same (the file and the environment refused what the flag took)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.cli import cli
from monitor.cli.options import Duration
from monitor.config import ConfigError, load_settings
from monitor.durations import UNITS, parse_duration

SPELLINGS = [
    ("90", 90.0),
    ("1h", 3600.0),
    ("1.5h", 5400.0),
    ("500ms", 0.5),
    ("0.5s", 0.5),
    ("5m", 300.0),
    (" 5 m ", 300.0),
    ("2d", 172800.0),
    (".25s", 0.25),
    ("1e3", 1000.0),
]


def _spell(seconds: float) -> str:
    """A spelling of `seconds`: the largest unit it is a whole number of, else plain."""
    for unit in ("d", "h", "m"):
        count = seconds / UNITS[unit]
        if count.is_integer() and count * UNITS[unit] == seconds:
            return f"{int(count)}{unit}"
    return f"{seconds!r}s"


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_parse_reads_back_what_is_spelled(seconds: float) -> None:
    assert parse_duration(_spell(seconds)) == seconds


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS)))
def test_a_count_of_a_unit_is_that_many_of_its_seconds(count: int, unit: str) -> None:
    assert parse_duration(f"{count}{unit}") == count * UNITS[unit]


@pytest.mark.parametrize("text", ["", "h", "1y", "1 h m", "1hh", "inf", "nan", "0x10", "1,5h"])
def test_what_is_no_duration_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration \(e\.g\. 30, 0\.5s"):
        parse_duration(text)


def _show(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["config", "show", *args], env=env)
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.output)
    return shown


def _three_layers(tmp_path: Path, spelling: str) -> list[object]:
    """`timeout` as the flag, the environment and the file give it, through `config show`."""
    toml = tmp_path / "c.toml"
    toml.write_text(f"timeout = {json.dumps(spelling)}\n")
    return [
        _show(["--timeout", spelling])["timeout"],
        _show([], env={"ARTICLE_MONITOR_TIMEOUT": spelling})["timeout"],
        _show(["--config", str(toml)])["timeout"],
    ]


@pytest.mark.parametrize(("spelling", "seconds"), SPELLINGS)
def test_flag_environment_and_file_read_one_spelling_alike(
    tmp_path: Path, spelling: str, seconds: float
) -> None:
    assert _three_layers(tmp_path, spelling) == [seconds] * 3


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=3650), st.sampled_from(sorted(UNITS)))
def test_every_layer_reads_a_spelling_as_the_parser_does(count: int, unit: str) -> None:
    spelling = f"{count}{unit}"
    seconds = parse_duration(spelling)
    flag = Duration().convert(spelling, None, None)
    env = load_settings(None, {}, environ={"ARTICLE_MONITOR_INTERVALS__WEB": spelling})
    nested = load_settings(None, {"intervals": {"web": spelling}}, environ={})
    assert flag == env.intervals.web == nested.intervals.web == seconds


def test_interval_1h_in_the_config_file(tmp_path: Path) -> None:
    """The reported case: `interval = "1h"` was refused (`Input should be a valid number`)."""
    toml = tmp_path / "c.toml"
    toml.write_text('interval = "1h"\n[intervals]\nimage = "6h"\n')
    s = load_settings(toml, {}, environ={"ARTICLE_MONITOR_RETRY_INTERVAL": "2m"})
    assert (s.interval, s.intervals.image, s.retry_interval) == (3600.0, 21600.0, 120.0)


def test_run_interval_flag_uses_the_one_parser() -> None:
    run = cli.get_command(click.Context(cli), "run")
    assert run is not None
    interval = next(p for p in run.params if p.name == "interval")
    assert isinstance(interval.type, Duration)


def test_a_bad_spelling_in_the_file_names_the_setting_and_the_examples(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('interval = "1 hour"\n')
    with pytest.raises(ConfigError, match=r"interval \(from file .*\): '1 hour' is not a dur"):
        load_settings(toml, {}, environ={})


def test_a_spelling_over_the_bound_is_refused_as_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"at most 316224000 seconds .*; got '4000d'"):
        load_settings(None, {}, environ={"ARTICLE_MONITOR_INTERVAL": "4000d"})


def test_an_hour_is_no_whole_number_of_days() -> None:
    """Days read spellings too (test_durations_in_units.py), but `retention_days`
    is whole days: `"1h"` is refused, not rounded."""
    with pytest.raises(ConfigError, match=r"retention_days .*give a whole number of days"):
        load_settings(None, {}, environ={"ARTICLE_MONITOR_RETENTION_DAYS": "1h"})
