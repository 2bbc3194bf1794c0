"""Hostile duration spellings: a long run of digits or spaces is refused in
linear time (the old pattern tried every split of it: a 64 KB environment value
held a start for minutes), the refusal quotes only the value's start, and `-0`
is 0 (`config show` printed -0.0)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import ConfigError, load_settings
from monitor.durations import UNITS, parse_duration

# the pattern before the fix: its readings are the reference
_OLD = re.compile(r"\s*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(ms|s|m|h|d)?\s*")


def _old(text: str) -> float | None:
    match = _OLD.fullmatch(text)
    return None if match is None else float(match.group(1)) * UNITS[match.group(2) or "s"]


@given(st.text(alphabet="0123456789.eE+- msdhx\t", max_size=14))
def test_the_linear_pattern_reads_as_the_old_one(text: str) -> None:
    try:
        got: float | None = parse_duration(text)
    except ValueError:
        got = None
    assert got == _old(text)


@pytest.mark.parametrize(
    "text",
    ["1" * 200_000 + "x", "1" + " " * 200_000 + "x", "1" * 100_000 + "." + "1" * 100_000 + "e"],
    ids=["digits", "spaces", "fraction"],
)
def test_a_long_bad_spelling_is_refused_at_once(text: str) -> None:
    # before: quadratic backtracking, hours for these (the run's timeout fails it)
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(text)
    assert len(str(caught.value)) < 300
    assert f"({len(text)} characters)" in str(caught.value)


def test_a_huge_environment_value_gets_a_short_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_MONITOR_TIMEOUT", "9" * 1_000_000 + "q")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {})
    text = str(caught.value)
    assert "timeout (from environment ARTICLE_MONITOR_TIMEOUT): " in text
    assert "(1000001 characters)' is not a duration" in text
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize("text", ["-0", "-0s", "-0.0ms", " -0 "])
def test_minus_zero_is_zero(text: str) -> None:
    value = parse_duration(text)
    assert value == 0.0 and str(value) == "0.0"


def test_a_huge_integer_in_the_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    # int() refuses 4,301 digits and more: a bare ValueError, no file named, and a
    # SIGHUP reload (which refuses only ConfigError) did not catch it
    config = tmp_path / "m.toml"
    config.write_text("timeout = 1" + "0" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"m\.toml: invalid TOML"):
        load_settings(config, {})
