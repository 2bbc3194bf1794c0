"""A config file with thousands of bad keys (another TOML file named by mistake)
was refused with one line per key, a "did you mean" looked for each: 50,000
unknown keys made 3.5 MB of stderr in 6 s, and a SIGHUP reload of the daemon
did the same work. The first errors are said, then how many more."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env


def test_thousands_of_unknown_keys_are_said_in_a_bounded_message(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text("".join(f"unknown_setting_{n} = 1\n" for n in range(2000)))
    out = subprocess.run(
        [CLI, "config", "show", "--config", config], capture_output=True, text=True, env=user_env()
    )
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr
    said = [line for line in out.stderr.splitlines() if "unknown setting" in line]
    assert 1 <= len(said) <= 50, len(said)
    assert f"unknown_setting_0 (from file {config}): unknown setting" in out.stderr
    assert "more: fix these first" in out.stderr


def test_a_huge_value_is_quoted_in_part(tmp_path: Path) -> None:
    """`listen = "<1 MB>"`: the error quoted the whole value back (a file may hold 16 MiB)."""
    config = tmp_path / "monitor.toml"
    config.write_text('listen = "' + "a" * 1_000_000 + '"\n')
    out = subprocess.run(
        [CLI, "config", "show", "--config", config], capture_output=True, text=True, env=user_env()
    )
    assert out.returncode == 2, out.stdout
    assert f"listen (from file {config}): expected HOST:PORT" in out.stderr
    assert len(out.stderr) < 5000, len(out.stderr)


@pytest.mark.parametrize(
    ("variable", "said"),
    [
        ("ARTICLE_MONITOR_TIMEOUT", "timeout (from environment ARTICLE_MONITOR_TIMEOUT): at most"),
        ("ARTICLE_MONITOR_INTERVAL_JITTER", "at most 1; got infinity"),
    ],
)
def test_a_number_past_a_float_is_said_past_its_bound(
    tmp_path: Path, variable: str, said: str
) -> None:
    """400 nines are a finite number the user wrote; read as a float they are
    infinity, and the error said "Input should be a finite number", the bound
    unsaid. The setting's bound is said, and what the value became."""
    out = subprocess.run(
        [CLI, "config", "show"],
        capture_output=True,
        text=True,
        env=user_env(**{variable: "9" * 400}),
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stdout
    assert said in out.stderr, out.stderr
    assert "got infinity (`inf`, or a number past 1.8e308)" in out.stderr
