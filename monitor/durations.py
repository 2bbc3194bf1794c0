"""Durations in the settings: one type per unit, each carrying its bounds,
and the one parser of their spellings (`30`, `0.5s`, `500ms`, `5m`, `1h`, `2d`).

A setting in milliseconds or days reads the same spellings in its text
(`latency_budget_ms = "5s"` is 5000, `cert_warning_days = "36h"` is 1.5); a
bare number, a TOML number or a text without a unit (an environment's "14"),
keeps the field's own unit: "14" days is never 14 seconds.

A bound kept in the field's type (not in a list of names beside the model)
holds for every field of that type, a new one included; `--help` reads it
from the field (monitor/cli/options.py) and config's messages name it.
No duration outlives the calendar: a next check in the year 3,148,250
broke `status`. A duration in seconds is spelled alike on the command line
(options.Duration), in the TOML file and in ARTICLE_MONITOR_* variables:
all three go through `parse_duration`.
"""

from __future__ import annotations

import math
import re
import typing
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic.fields import FieldInfo

MAX_SECONDS = 10 * 366 * 86400
MAX_DAYS = 100 * 366


@dataclass(frozen=True, slots=True)
class Unit:
    """Marks a field as a duration: its unit and its upper bound, for messages and help."""

    name: str
    limit: int
    words: str
    seconds: Fraction = Fraction(1)  # one of the unit, in seconds: exact, so 1.1s is 1100 ms

    def at_most(self) -> str:
        return f"at most {self.limit} {self.name} ({self.words})"


SECOND = Unit("seconds", MAX_SECONDS, "ten years")
MILLISECOND = Unit("milliseconds", MAX_SECONDS * 1000, "ten years", Fraction(1, 1000))
DAY = Unit("days", MAX_DAYS, "a hundred years", Fraction(86400))

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_EXACT = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60)}
_EXACT |= {"h": Fraction(3600), "d": Fraction(86400)}
# past this power of ten a value is far over every bound (or as good as zero): no
# exact sum, whose integer 10**exponent an `1e999999999d` would have built
_EXACT_EXPONENT = 290  # 1e290 days in ms is still a float
_EXACT_DIGITS = 60  # more than a float holds; a longer one costs a big gcd (an MB: minutes)
EXAMPLES = "e.g. 30, 0.5s, 500ms, 5m, 1h, 2d: a finite number, seconds unless a unit follows"
# each character has one reading (digits before a dot, digits after it, no
# two spaces side by side), so a refusal costs linear time: `[0-9]+\.?[0-9]*`
# tried every split of a long run of digits, quadratic (64 KB: minutes)
_SPELLING = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(ms|s|m|h|d)?"
)
_QUOTED = 40  # characters of a refused spelling quoted back (an environment value may be MBs)


def parse_duration(text: str) -> float:
    """Seconds from `30`, `0.5s`, `500ms`, `5m`, `1h` or `2d` (no unit: seconds).
    A sign and an exponent are read too, so that the bounds, not the spelling,
    refuse `-1` and `1e20` with a message that says why."""
    match = _SPELLING.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{quoted(text)} is not a duration ({EXAMPLES})")
    return float(match.group(1)) * UNITS[match.group(2) or "s"] + 0.0  # + 0.0: `-0` is 0


def _spelled(value: Any) -> Any:
    """A setting's text (the TOML file's `"1h"`, every environment value) is a
    duration spelling; a number (TOML's `3600`, a flag's parsed value) is seconds."""
    return parse_duration(value) if isinstance(value, str) else value


def _in_unit(unit: Unit, *, whole: bool = False) -> BeforeValidator:
    """A setting in `unit` (ms, days) from a spelling with a unit (`"5s"`, `"36h"`);
    any other value as it was (a number, a text of a bare number: the field's unit).
    `whole`: a fraction of the unit is refused, with what it came to."""

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        match = _SPELLING.fullmatch(value.strip())
        if match is None or match.group(2) is None:
            if match is None and not _a_float(value):
                raise ValueError(
                    f"{quoted(value)} is not a number of {unit.name} ({_examples(unit)})"
                )
            return value  # a bare number: read in the field's own unit, as it always was
        number = Decimal(match.group(1))
        exact = _exact(number)
        if exact is None:
            count = float(number) * UNITS[match.group(2)] / float(unit.seconds)
        else:
            exact = exact * _EXACT[match.group(2)] / unit.seconds
            count = float(exact)
        count += 0.0  # `-0` is 0
        if whole and math.isfinite(count):  # inf: refused as a number, by the field
            if exact is not None and exact.denominator == 1:
                return int(exact)
            if exact is None and abs(count) > unit.limit:  # refused by the bound, as written
                return int(count)
            # within the bound, a spelling too long to be read exactly has a fraction
            near = f"{count:g}"
            if float(near).is_integer():  # `1` for 1.0000000000000002 said nothing
                near = f"a hair from {round(count)}"
            raise ValueError(
                f"{quoted(value)} is {near} {unit.name}: give a whole number of {unit.name}"
            )
        return count

    return BeforeValidator(read)


def _exact(number: Decimal) -> Fraction | None:
    """`number` as an exact fraction, or None when it has too many significant
    digits or too large an exponent for one; zeros around its digits do not
    count (`1.000…0d` is 1 day, however many zeros: read as a float, the
    fraction of `1.000…01d` was lost and a whole-days setting took it)."""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # the spelling is a finite number
    text = "".join(map(str, digits))
    significant = text.strip("0")
    if not significant:
        return Fraction(0)
    if len(significant) > _EXACT_DIGITS or abs(number.adjusted()) > _EXACT_EXPONENT:
        return None
    trailing = len(text) - len(text.rstrip("0"))
    return Fraction(Decimal((sign, tuple(map(int, significant)), exponent + trailing)))


def _a_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def quoted(text: str) -> str:
    """A refused text, quoted back at most _QUOTED characters of it."""
    shown = text if len(text) <= _QUOTED else f"{text[:_QUOTED]}… ({len(text)} characters)"
    return repr(shown)


def _examples(unit: Unit) -> str:
    spelled = "5000, 500ms, 5s, 1m" if unit is MILLISECOND else "14, 36h, 14d"
    return f"e.g. {spelled}: a finite number, {unit.name} unless a unit of ms, s, m, h, d follows"


# a wait that must pass (a timeout, an interval); one that may be none (a grace, a backoff)
Seconds = Annotated[float, BeforeValidator(_spelled), Field(gt=0, le=MAX_SECONDS), SECOND]
SecondsOrZero = Annotated[float, BeforeValidator(_spelled), Field(ge=0, le=MAX_SECONDS), SECOND]
Milliseconds = Annotated[
    float, _in_unit(MILLISECOND), Field(gt=0, le=MILLISECOND.limit), MILLISECOND
]
Days = Annotated[float, _in_unit(DAY), Field(ge=0, le=MAX_DAYS), DAY]
WholeDays = Annotated[int, _in_unit(DAY, whole=True), Field(ge=1, le=MAX_DAYS), DAY]


def field_metadata(info: FieldInfo) -> list[Any]:
    """A field's constraints and markers, those of `X | None`'s X included
    (pydantic lifts them out of the annotation only when it is X itself)."""
    found = list(info.metadata)
    for arg in typing.get_args(info.annotation):
        if typing.get_origin(arg) is Annotated:
            for item in arg.__metadata__:
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return found


def unit_of(info: FieldInfo) -> Unit | None:
    """The duration unit of a field, or None when it is no duration."""
    return next((m for m in field_metadata(info) if isinstance(m, Unit)), None)


def bound(info: FieldInfo, name: str) -> float | None:
    """The field's `ge`, `gt` or `le` constraint (`name`), or None."""
    return next(
        (getattr(m, name) for m in field_metadata(info) if getattr(m, name, None) is not None),
        None,
    )
