"""Reading a number kept as text in `meta` (the last check, the rollup mark), or a
time from an integer column that SQLite let someone fill with text.

One rule for every reader: the marks this version writes are ASCII decimal
digits. Anything else, written by hand or by a broken tool, is unreadable
(None) and each reader says what it does instead. `int()` alone took
" 12 ", "1_000" and "-5" as numbers, and a number of hundreds of digits,
which then failed later (OverflowError as a float, ValueError past 4300
digits) in the heartbeat, /metrics and maintenance.
"""

from __future__ import annotations

MAX_DIGITS = 19  # a BIGINT's width: the widest number a mark is compared with in SQL


def stored_ms(value: object) -> int | None:
    """A time read from an integer column, or None: SQLite keeps whatever is written
    there by hand (text too), and a text `max(until)` raised TypeError downstream."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_mark(value: object) -> int | None:
    """The mark's number, or None when absent or not what this version writes."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_DIGITS:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)
