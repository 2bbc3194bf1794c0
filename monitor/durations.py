"""Durations in the settings: one type per unit, each carrying its bounds,
and the one parser of their spellings (`30`, `0.5s`, `500ms`, `5m`, `1h`, `2d`).

A bound kept in the field's type (not in a list of names beside the model)
holds for every field of that type, a new one included; `--help` reads it
from the field (monitor/cli/options.py) and config's messages name it.
No duration outlives the calendar: a next check in the year 3,148,250
broke `status`. A duration in seconds is spelled alike on the command line
(options.Duration), in the TOML file and in ARTICLE_MONITOR_* variables:
all three go through `parse_duration`.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
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

    def at_most(self) -> str:
        return f"at most {self.limit} {self.name} ({self.words})"


SECOND = Unit("seconds", MAX_SECONDS, "ten years")
MILLISECOND = Unit("milliseconds", MAX_SECONDS * 1000, "ten years")
DAY = Unit("days", MAX_DAYS, "a hundred years")

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
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
        shown = text if len(text) <= _QUOTED else f"{text[:_QUOTED]}… ({len(text)} characters)"
        raise ValueError(f"{shown!r} is not a duration ({EXAMPLES})")
    return float(match.group(1)) * UNITS[match.group(2) or "s"] + 0.0  # + 0.0: `-0` is 0


def _spelled(value: Any) -> Any:
    """A setting's text (the TOML file's `"1h"`, every environment value) is a
    duration spelling; a number (TOML's `3600`, a flag's parsed value) is seconds."""
    return parse_duration(value) if isinstance(value, str) else value


# a wait that must pass (a timeout, an interval); one that may be none (a grace, a backoff)
Seconds = Annotated[float, BeforeValidator(_spelled), Field(gt=0, le=MAX_SECONDS), SECOND]
SecondsOrZero = Annotated[float, BeforeValidator(_spelled), Field(ge=0, le=MAX_SECONDS), SECOND]
Milliseconds = Annotated[float, Field(gt=0, le=MILLISECOND.limit), MILLISECOND]
Days = Annotated[float, Field(ge=0, le=MAX_DAYS), DAY]
WholeDays = Annotated[int, Field(ge=1, le=MAX_DAYS), DAY]


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
