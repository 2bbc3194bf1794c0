"""Every number setting has an upper bound, counts and sizes as well as durations:
`down_after = 10**18` was taken, and a target could then never go down; a
page cap of 10**18 read any body whole into memory. A value over the bound is
refused with a message naming the bound and the value as given."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import MAX_CAP_BYTES, ConfigError, Intervals, Settings, load_settings
from monitor.config_sources import is_number
from monitor.durations import bound


@pytest.mark.parametrize(
    "model, name",
    [(m, n) for m in (Settings, Intervals) for n, f in m.model_fields.items() if is_number(f)],
)
def test_every_number_setting_has_an_upper_bound(model: type[Settings], name: str) -> None:
    assert bound(model.model_fields[name], "le") is not None, f"{name}: no upper bound"


@pytest.mark.parametrize("setting", ["down_after", "up_after"])
def test_a_run_of_checks_is_at_most_a_thousand(tmp_path: Path, setting: str) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(f"{setting} = {10**18}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(toml, {}, environ={})
    assert f"{setting} (from file {toml}): at most 1000; got {10**18}" in str(caught.value)
    assert getattr(load_settings(None, {setting: 1000}, environ={}), setting) == 1000
    with pytest.raises(ConfigError, match=rf"{setting} \(from environment .*\): at most 1000"):
        load_settings(None, {}, environ={f"ARTICLE_MONITOR_{setting.upper()}": "1001"})


@pytest.mark.parametrize("setting", ["page_cap_bytes", "image_cap_bytes"])
def test_a_body_cap_is_bounded(setting: str) -> None:
    assert getattr(load_settings(None, {setting: MAX_CAP_BYTES}, environ={}), setting) > 0
    with pytest.raises(ConfigError, match=rf"at most {MAX_CAP_BYTES}; got {MAX_CAP_BYTES + 1}"):
        load_settings(None, {setting: MAX_CAP_BYTES + 1}, environ={})


def test_config_show_says_the_bound_without_a_traceback(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("down_after = 1000000000000000000\nup_after = 0\n")
    result = CliRunner().invoke(cli, ["config", "show", "--config", str(toml)], env={})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "down_after (from file" in result.output
    assert "at most 1000; got 1000000000000000000" in result.output
    assert "up_after (from file" in result.output and "at least 1; got 0" in result.output
