"""Settings in milliseconds and days read the duration spellings too
(`latency_budget_ms = "5s"`, `cert_warning_days = "36h"`, `retention_days = "14d"`):
only the seconds fields did, and the others refused every text with a unit. A
bare number (TOML's, or an environment's "14") keeps the field's own unit."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ConfigError, Settings, load_settings

SECONDS = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
SECONDS["d"] = Fraction(86400)
# each setting with its unit in seconds, and its largest value
IN_UNITS = {
    "latency_budget_ms": (Fraction(1, 1000), 316224000 * 1000),
    "cert_warning_days": (Fraction(86400), 36600),
}
WHOLE_DAYS = ["retention_days", "rollup_retention_days"]


def _env(name: str, value: str) -> Settings:
    return load_settings(None, {}, environ={f"ARTICLE_MONITOR_{name.upper()}": value})


def _file(tmp_path: Path, name: str, value: object) -> Settings:
    toml = tmp_path / "c.toml"
    toml.write_text(f"{name} = {value!r}\n".replace("'", '"'))
    return load_settings(toml, {}, environ={})


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(IN_UNITS)),
    st.sampled_from(sorted(SECONDS)),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
)
def test_a_spelled_value_is_the_number_in_the_fields_unit(
    name: str, unit: str, count: Decimal
) -> None:
    field_seconds, top = IN_UNITS[name]
    exact = Fraction(count) * SECONDS[unit] / field_seconds
    if not 0 < exact <= top:
        return
    spelled = getattr(_env(name, f"{count}{unit}"), name)
    numeric = getattr(load_settings(None, {name: float(exact)}, environ={}), name)
    assert spelled == numeric == float(exact)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(WHOLE_DAYS),
    st.sampled_from(sorted(SECONDS)),
    st.integers(min_value=1, max_value=36600),
)
def test_a_whole_number_of_days_spelled_in_any_unit(name: str, unit: str, days: int) -> None:
    count = Fraction(days) * SECONDS["d"] / SECONDS[unit]
    assert count.denominator == 1
    assert getattr(_env(name, f"{count}{unit}"), name) == days


@pytest.mark.parametrize("name", WHOLE_DAYS)
@pytest.mark.parametrize("spelled", ["36h", "1h", "0.5d", "1500ms"])
def test_a_fraction_of_a_day_is_refused_for_whole_days(name: str, spelled: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name} \(from environment .*\): '{spelled}' is "):
        _env(name, spelled)
    with pytest.raises(ConfigError, match="give a whole number of days"):
        _env(name, spelled)


def test_the_reported_spellings(tmp_path: Path) -> None:
    assert _file(tmp_path, "latency_budget_ms", "5s").latency_budget_ms == 5000.0
    assert _file(tmp_path, "latency_budget_ms", "1.1s").latency_budget_ms == 1100.0
    assert _file(tmp_path, "cert_warning_days", "14d").cert_warning_days == 14.0
    assert _file(tmp_path, "cert_warning_days", "36h").cert_warning_days == 1.5
    assert _file(tmp_path, "retention_days", "14d").retention_days == 14


@pytest.mark.parametrize(
    ("name", "bare", "value"),
    [
        ("latency_budget_ms", "250", 250.0),
        ("latency_budget_ms", "2.5", 2.5),
        ("cert_warning_days", "14", 14.0),
        ("cert_warning_days", "0.5", 0.5),
        ("retention_days", "14", 14),
        ("rollup_retention_days", "400", 400),
    ],
)
def test_a_bare_number_keeps_the_fields_unit(
    tmp_path: Path, name: str, bare: str, value: float
) -> None:
    """An environment variable "14" is 14 days, not 14 seconds; a TOML number too."""
    assert getattr(_env(name, bare), name) == value
    assert getattr(_file(tmp_path, name, value), name) == value


@pytest.mark.parametrize("name", [*IN_UNITS, *WHOLE_DAYS])
def test_what_is_no_spelling_is_refused_with_examples(name: str) -> None:
    with pytest.raises(ConfigError, match=r"'2w' is not a number of .*e\.g\. .*unless a unit"):
        _env(name, "2w")


@pytest.mark.parametrize("name", [*IN_UNITS, *WHOLE_DAYS])
def test_a_spelling_over_the_bound_is_refused_as_written(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name} .*: at most .*; got '99999999d'"):
        _env(name, "99999999d")


def test_a_long_spelling_is_read_without_an_exact_sum_of_its_digits() -> None:
    """A megabyte of digits (an environment value) is read as a float: its exact
    fraction's gcd would take minutes."""
    days = _env("cert_warning_days", "0." + "1" * 1_000_000 + "d").cert_warning_days
    assert days == pytest.approx(1 / 9)
    with pytest.raises(ConfigError, match="finite"):
        _env("cert_warning_days", "1e999999999d")


@pytest.mark.parametrize("name", WHOLE_DAYS)
@pytest.mark.parametrize(
    "spelled",
    [
        "1.00000000000000000001d",
        "0.99999999999999999999d",
        "86400000.0000001ms",
        "1." + "0" * 100 + "1d",
        "0." + "9" * 100 + "d",
    ],
)
def test_a_fraction_too_fine_for_a_float_is_refused_for_whole_days(name: str, spelled: str) -> None:
    """Whole days are judged on the exact value: a float of 1.00000000000000000001
    is 1.0, and the setting took 1 day for a spelling that is not a whole day."""
    with pytest.raises(ConfigError, match="give a whole number of days") as raised:
        _env(name, spelled)
    assert "is 1 days" not in str(raised.value)  # the fraction is said, however small


@pytest.mark.parametrize("name", WHOLE_DAYS)
def test_zeros_around_a_whole_number_of_days_are_no_fraction(name: str) -> None:
    assert getattr(_env(name, "1." + "0" * 100 + "d"), name) == 1
    assert getattr(_env(name, "0" * 100 + "48h"), name) == 2
    assert getattr(_env(name, "2592000" + "." + "0" * 80 + "s"), name) == 30
    with pytest.raises(ConfigError, match="at most 36600 days"):
        _env(name, "1" + "0" * 100 + "d")
