"""Whole-number settings and flags: ASCII digits with an optional sign, read
alike on the command line, in the TOML file and in ARTICLE_MONITOR_* variables.

`int()` (click's `int`, pydantic's lax mode) reads more than that, and the
sources differed: `--concurrency ١٠` (Arabic-Indic digits) and `1_000` were
taken on the command line, `ARTICLE_MONITOR_CONCURRENCY=12.0` in the
environment but not as a flag. A number nobody would type is a mistake, said
as one; durations are spelled as strictly (monitor/durations.py).
"""

from __future__ import annotations

import re

from monitor.durations import quoted

# [0-9]: ASCII only, unlike \d. Each zero has one reading (`0*([0-9]+)` tried every
# split of a run of zeros between the two: 100,000 zeros and an `x`, 110 s)
_WHOLE = re.compile(r"[ \t]*([+-]?)0*([1-9][0-9]*|0)[ \t]*")
_MAX_DIGITS = 30  # past every bound; int() of 5,000 digits raises its own odd message


class TooManyDigits(ValueError):
    """A whole number past every bound: said as out of range where one is known."""


def parse_whole(text: str) -> int:
    """The whole number `text` spells (`64`, ` +3 `, `-1`); ValueError otherwise."""
    match = _WHOLE.fullmatch(text)
    if match is None:
        raise ValueError(f"{quoted(text)} is not a whole number (ASCII digits, like 64)")
    sign, digits = match.groups()
    if len(digits) > _MAX_DIGITS:
        raise TooManyDigits(f"{quoted(text)} has more digits than any setting allows")
    return -int(digits) if sign == "-" else int(digits)
