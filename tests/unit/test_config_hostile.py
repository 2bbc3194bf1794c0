"""Values a settings layer must refuse with a message naming the key and layer:
non-finite numbers (TOML spells `inf` and `nan`; so does float()) and a
`kinds` list that names no kind at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, Settings, load_settings
from monitor.config_sources import annotation_args

FLOATS = [  # `interval: Seconds | None` included
    name for name, f in Settings.model_fields.items() if annotation_args(f.annotation) == (float,)
]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("name", FLOATS)
def test_a_non_finite_number_is_refused_in_every_layer(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{name} \(from flag --{name.replace('_', '-')}\)"):
        load_settings(None, {name: float(value)}, environ={})
    env = "ARTICLE_MONITOR_" + name.upper()
    with pytest.raises(ConfigError, match=rf"{name} \(from environment {env}\): .*finite"):
        load_settings(None, {}, environ={env: value})
    toml = tmp_path / "c.toml"
    toml.write_text(f"{name} = {value}\n")
    with pytest.raises(ConfigError, match=rf"{name} \(from file .*\): .*finite"):
        load_settings(toml, {}, environ={})


def test_a_per_kind_interval_must_be_finite(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[intervals]\nweb = inf\n")
    with pytest.raises(ConfigError, match=r"intervals\.web .*finite"):
        load_settings(toml, {}, environ={})


@pytest.mark.parametrize("kinds", ["", ",", " , "])
def test_kinds_that_name_no_kind_are_refused(tmp_path: Path, kinds: str) -> None:
    """`--kinds ""` checked nothing and exited 0, as if everything were healthy."""
    with pytest.raises(ConfigError, match=r"kinds \(from flag --kinds\): .*web,amp,cdn,image"):
        load_settings(None, {"kinds": kinds}, environ={})
    toml = tmp_path / "c.toml"
    toml.write_text("kinds = []\n")
    with pytest.raises(ConfigError, match=r"kinds \(from file .*web,amp,cdn,image"):
        load_settings(toml, {}, environ={})


def test_a_config_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors start UTF-8 files with a BOM: tomllib said `Invalid
    statement (at line 1, column 1)` about a character nobody can see."""
    toml = tmp_path / "c.toml"
    toml.write_bytes(b"\xef\xbb\xbfconcurrency = 3\n")
    assert load_settings(toml, {}, environ={}).concurrency == 3


def test_an_unknown_key_names_the_setting_meant(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("concurency = 3\n[intervals]\nwbe = 60\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(toml, {}, environ={})
    text = str(caught.value)
    assert f"concurency (from file {toml}): unknown setting; did you mean concurrency?" in text
    assert f"intervals.wbe (from file {toml}): unknown setting; did you mean web?" in text


def test_a_single_value_where_a_list_is_wanted_shows_the_list_form(tmp_path: Path) -> None:
    """`paths = "corpus"` said only `Input should be a valid list`."""
    toml = tmp_path / "c.toml"
    toml.write_text('paths = "corpus"\n')
    with pytest.raises(ConfigError, match=r'paths \(from file .*c\.toml\): .* paths = \["…"\]'):
        load_settings(toml, {}, environ={})


def test_a_home_relative_path_in_the_config_file_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paths = ["~/corpus"]` became <config folder>/~/corpus: a shell expands
    `~` on the command line, nobody expands it in a file."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "etc"
    folder.mkdir()
    toml = folder / "c.toml"
    toml.write_text('paths = ["~/corpus", "local"]\nca_bundle = "~/ca.pem"\n')
    settings = load_settings(toml, {}, environ={})
    assert settings.paths == [tmp_path / "home" / "corpus", folder / "local"]
    assert settings.ca_bundle == tmp_path / "home" / "ca.pem"


SECONDS = [
    "host_min_interval",
    "timeout",
    "connect_timeout",
    "backoff_base",
    "backoff_max",
    "retry_after_max",
    "interval",
    "retry_interval",
    "rescan_interval",
    "lease_seconds",
    "shutdown_grace",
    "cluster_heartbeat",
    "cluster_timeout",
    "maintenance_interval",
]
DAYS = ["cert_warning_days", "retention_days", "rollup_retention_days"]


@pytest.mark.parametrize("name", SECONDS + DAYS)
def test_a_duration_beyond_any_calendar_is_refused(name: str) -> None:
    """`--interval 99999999999999` stored a next check in the year 3,148,250:
    `status` then failed with an internal error on every call."""
    unit = "days" if name in DAYS else "seconds"
    with pytest.raises(ConfigError, match=rf"{name} \(from flag .*\): at most .* {unit}"):
        load_settings(None, {name: 10**14}, environ={})
    ten_years = 3650 if name in DAYS else 3650 * 86400
    assert getattr(load_settings(None, {name: ten_years}, environ={}), name) == ten_years


def test_a_per_kind_interval_beyond_any_calendar_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[intervals]\nimage = 1e14\n")
    with pytest.raises(ConfigError, match=r"intervals\.image .*at most .* seconds"):
        load_settings(toml, {}, environ={})
