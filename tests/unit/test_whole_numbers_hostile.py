"""Hostile whole-number spellings: a long run of zeros is refused in linear
time. `0*([0-9]+)` tried every split of it between the two (quadratic: 100,000
zeros and an `x` in an environment variable or a flag held a start for 110 s,
a TOML string of an MB for hours)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import cli
from monitor.config import ConfigError, load_settings
from monitor.whole_numbers import parse_whole

# the pattern before the fix: its readings are the reference
_OLD = re.compile(r"[ \t]*([+-]?)0*([0-9]+)[ \t]*")


def _old(text: str) -> int | None:
    match = _OLD.fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    return -int(digits) if sign == "-" else int(digits)


@given(st.text(alphabet="0012+- \tx", max_size=14))
def test_the_linear_pattern_reads_as_the_old_one(text: str) -> None:
    try:
        got: int | None = parse_whole(text)
    except ValueError:
        got = None
    assert got == _old(text)


@pytest.mark.parametrize(
    "text", ["0" * 200_000 + "x", "-" + "0" * 200_000 + " x", "0" * 200_000 + "1" + "0" * 40]
)
def test_a_long_run_of_zeros_is_refused_at_once(text: str) -> None:
    # before: quadratic backtracking, hours for these (the run's timeout fails it)
    with pytest.raises(ValueError) as caught:
        parse_whole(text)
    assert f"({len(text)} characters)" in str(caught.value)


def test_a_run_of_zeros_is_a_number() -> None:
    assert parse_whole("0" * 200_000) == 0
    assert parse_whole(" -" + "0" * 200_000 + "7 ") == -7


def test_a_long_environment_value_gets_a_short_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_MONITOR_CONCURRENCY", "0" * 200_000 + "q")
    with pytest.raises(ConfigError, match="not a whole number") as caught:
        load_settings(None, {})
    assert len(str(caught.value)) < 1000


PAST = "9" * 50  # past the 30 digits any setting could need


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [("concurrency", PAST, "at most 10000; got "), ("retries", "-" + PAST, "at least 0; got ")],
)
def test_too_many_digits_are_out_of_range_from_every_source(
    tmp_path: Path, name: str, text: str, said: str
) -> None:
    """31 digits or more said 'more digits than any setting allows' where 30
    said 'at most 10000; got …' (and a TOML integer of any length did): each
    source now names the setting's range, as a ranged flag does."""
    shown = f"'{text[:40]}… ({len(text)} characters)'"
    toml = tmp_path / "c.toml"
    toml.write_text(f'{name} = "{text}"\n', encoding="utf-8")
    env = {f"ARTICLE_MONITOR_{name.upper()}": text}
    for config, environ, source in ((toml, {}, "file"), (None, env, "environment")):
        with pytest.raises(ConfigError) as caught:
            load_settings(config, {}, environ=environ)
        assert f"{name} (from {source} " in str(caught.value)
        assert f"{said}{shown}" in str(caught.value)
    flag = "--" + name.replace("_", "-")
    argv = ["check", "--offline", f"{flag}={text}", str(tmp_path)]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False, env={"HOME": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert f"{name} (from flag {flag}): {said}{shown}" in result.output
