"""Every duration setting carries its upper bound in its type (monitor/durations.py):
a new duration field cannot escape the bound, and `--help` shows it."""

from __future__ import annotations

from typing import Any

import click
import pytest
from pydantic import BaseModel

from monitor.cli import cli
from monitor.config import ConfigError, Intervals, Settings, flag_name, load_settings
from monitor.config_sources import is_model, is_number
from monitor.durations import Unit, unit_of

# number settings that are counts, sizes or ratios, not durations: a new number
# field must be typed as a duration (Seconds, Days, ...) or named here
NOT_DURATIONS = {
    "concurrency",
    "workers",
    "per_host",
    "retries",
    "max_redirects",
    "page_cap_bytes",
    "image_cap_bytes",
    "interval_jitter",
    "drift_threshold",
    "text_drift_bits",
    "down_after",
    "up_after",
}


def _number_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, info in model.model_fields.items():
        if is_model(info):
            nested = Intervals if name == "intervals" else None
            assert nested is not None, f"{name}: a nested model this test does not walk"
            found += _number_fields(nested, (*prefix, name))
        elif is_number(info):
            found.append((*prefix, name))
    return found


NUMBERS = _number_fields(Settings)
DURATIONS = [loc for loc in NUMBERS if loc[-1] not in NOT_DURATIONS]


def _unit(loc: tuple[str, ...]) -> Unit | None:
    model: type[BaseModel] = Intervals if len(loc) == 2 else Settings
    return unit_of(model.model_fields[loc[-1]])


def _flags(loc: tuple[str, ...], value: Any) -> dict[str, Any]:
    return {loc[0]: value} if len(loc) == 1 else {loc[0]: {loc[1]: value}}


def test_the_walk_finds_the_known_durations() -> None:
    assert {("timeout",), ("interval",), ("intervals", "web"), ("retention_days",)} <= set(
        DURATIONS
    )


@pytest.mark.parametrize("loc", DURATIONS, ids=".".join)
def test_every_duration_field_refuses_a_value_over_its_bound(loc: tuple[str, ...]) -> None:
    unit = _unit(loc)
    assert unit is not None, f"{loc}: a number setting, neither a duration type nor listed"
    name = ".".join(loc)
    with pytest.raises(ConfigError) as info:
        load_settings(None, _flags(loc, unit.limit + 1), environ={})
    text = str(info.value)
    # the setting, the bound, the value
    assert f"{name} (from flag {flag_name(loc[0])}): at most {unit.limit} {unit.name}" in text
    assert f"; got {unit.limit + 1} {unit.name}" in text
    settings = load_settings(None, _flags(loc, unit.limit), environ={})
    value = getattr(settings, loc[0]) if len(loc) == 1 else getattr(settings.intervals, loc[1])
    assert value == unit.limit


def test_a_value_over_the_bound_from_the_file_names_the_value_as_written(tmp_path: Any) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("timeout = 1e20\n")
    with pytest.raises(ConfigError, match=r"timeout \(from file .*\): at most .*; got 1e\+20 "):
        load_settings(toml, {}, environ={})


def _options(command: str) -> dict[str, click.Option]:
    found = cli.get_command(click.Context(cli), command)
    assert found is not None
    return {p.name: p for p in found.params if isinstance(p, click.Option) and p.name}


@pytest.mark.parametrize("command", ["check", "run"])
def test_help_shows_the_bound_of_every_duration_flag(command: str) -> None:
    options = _options(command)
    shown = [loc[0] for loc in DURATIONS if len(loc) == 1 and loc[0] in options]
    assert "timeout" in shown
    for name in shown:
        unit = _unit((name,))
        assert unit is not None
        assert f"at most {unit.limit} = {unit.words}" in (options[name].help or ""), name


@pytest.mark.parametrize("setting", ["retention_days", "rollup_retention_days"])
def test_an_integer_too_large_for_a_float_is_refused_with_its_bound(
    tmp_path: Any, setting: str
) -> None:
    """An integer of 400 digits is over a whole-days bound: float() of it raised
    OverflowError, a traceback instead of `Error: …`."""
    toml = tmp_path / "c.toml"
    toml.write_text(f"{setting} = 1{'0' * 400}\n")
    with pytest.raises(ConfigError, match=rf"{setting} \(from file .*\): "):
        load_settings(toml, {}, environ={})
