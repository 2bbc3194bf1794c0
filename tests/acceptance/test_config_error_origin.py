"""An invalid setting's error names the layer that gave it (docs/operations.md:
"an error names the key and where it came from"). It named a variable that
gave nothing: a blank one, which counts as unset (`Environment=…_PER_HOST=`
in a unit, `${PER_HOST}` unset in compose), over the file's bad value; for a
nested setting, any `ARTICLE_MONITOR_INTERVALS…` variable, so the file's bad
`intervals.web` was blamed on ARTICLE_MONITOR_INTERVALS__AMP, and the bad
`…__AMP` on the JSON ARTICLE_MONITOR_INTERVALS beside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI


def config_show(tmp_path: Path, toml: str | None, **variables: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    env.update(variables)
    args = [CLI, "config", "show"]
    if toml is not None:
        (tmp_path / "monitor.toml").write_text(toml)
        args += ["--config", "monitor.toml"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr
    return out.stderr


@pytest.mark.parametrize("blank", ["", " "])
def test_a_blank_variable_is_not_named_for_the_files_value(tmp_path: Path, blank: str) -> None:
    err = config_show(tmp_path, "per_host = 5000\n", ARTICLE_MONITOR_PER_HOST=blank)
    assert "per_host (from file monitor.toml): at most 1000" in err, err


def test_a_nested_value_from_the_file_is_the_files(tmp_path: Path) -> None:
    err = config_show(tmp_path, "[intervals]\nweb = -5\n", ARTICLE_MONITOR_INTERVALS__AMP="60")
    assert "intervals.web (from file monitor.toml)" in err, err


def test_a_nested_variable_is_named_rather_than_the_json_beside_it(tmp_path: Path) -> None:
    err = config_show(
        tmp_path,
        None,
        ARTICLE_MONITOR_INTERVALS='{"web": 5}',
        ARTICLE_MONITOR_INTERVALS__AMP="-1",
    )
    assert "intervals.amp (from environment ARTICLE_MONITOR_INTERVALS__AMP)" in err, err


def test_a_json_null_gives_nothing(tmp_path: Path) -> None:
    err = config_show(tmp_path, "[intervals]\nweb = -5\n", ARTICLE_MONITOR_INTERVALS="null")
    assert "intervals.web (from file monitor.toml)" in err, err


def test_the_json_variable_is_named_for_its_own_value(tmp_path: Path) -> None:
    err = config_show(tmp_path, None, ARTICLE_MONITOR_INTERVALS='{"web": -5}')
    assert "intervals.web (from environment ARTICLE_MONITOR_INTERVALS)" in err, err
