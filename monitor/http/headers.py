"""Response header values as the parser hands them over, made safe to act on and to show.

aiohttp's parsers decode header values as UTF-8 with `surrogateescape`: a
byte that is not UTF-8 (a Latin-1 `é`, say) arrives as a lone surrogate.
Nothing downstream copes with those: yarl silently drops them (a Location of
`/caf\\xe9` would be followed as `/caf`), and a report, a log line or the
database cannot encode them. So every header value the engine acts on or
records goes through one of these functions.
"""

from __future__ import annotations

import re
from functools import cache


@cache
def _escaped() -> re.Pattern[str]:
    """What non-UTF-8 bytes become. Compiled at the first value that is not ASCII,
    not at import (issue 16: 2.5 M instructions, every process)."""
    return re.compile("[\ud800-\udfff]")


def is_utf8(value: str) -> bool:
    """Whether the server sent `value` as UTF-8 (no byte was escaped)."""
    return value.isascii() or _escaped().search(value) is None


def shown(value: str) -> str:
    """`value` with each byte that was not UTF-8 as U+FFFD: fit for a report."""
    if value.isascii():  # no escaped byte (O(1)): most values, every check's Content-Type
        return value
    return _escaped().sub("\ufffd", value)


def ascii_token(value: str | None) -> str | None:
    """`value` when it is ASCII, else None: for headers whose grammar is ASCII
    only (Retry-After's digits), so `\\d` or `float()` never read `٣` as 3."""
    return value if value is not None and value.isascii() else None
