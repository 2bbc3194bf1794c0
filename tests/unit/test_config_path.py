"""config_path: which config file a run reads, one rule for load_settings and the
report guard (monitor.cli.output_path.read_by)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.output_path import read_by
from monitor.config import ENV_CONFIG, Settings, config_path


def test_the_flag_wins_over_the_environment() -> None:
    assert config_path(Path("flag.toml"), {ENV_CONFIG: "env.toml"}) == Path("flag.toml")


def test_the_environment_names_it_when_no_flag_does() -> None:
    assert config_path(None, {ENV_CONFIG: "env.toml"}) == Path("env.toml")


@pytest.mark.parametrize("environ", [{}, {ENV_CONFIG: ""}])
def test_no_flag_and_no_variable_or_an_empty_one_is_no_file(environ: dict[str, str]) -> None:
    """There is no default location: no file is read, and none is guarded."""
    assert config_path(None, environ) is None


def test_the_guard_reads_the_same_file_as_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    monkeypatch.setenv(ENV_CONFIG, "env.toml")
    assert read_by(settings, None) == {Path("env.toml"): "--config"}
    assert read_by(settings, Path("flag.toml")) == {Path("flag.toml"): "--config"}
    monkeypatch.setenv(ENV_CONFIG, "")
    assert read_by(settings, None) == {}
