"""Where a JSON value we refuse went wrong, found again on the error path only: the
first key repeated within one object, the first NaN/Infinity or over-long integer,
and the words for each. The readers parse with Python's fast decoder and come here
once it has refused a value, to name the line and column."""

from __future__ import annotations

import json
import re
import sys
from functools import cache

from monitor.text_clip import clip

__all__ = [
    "duplicate_key_at",
    "duplicate_message",
    "name_shown",
    "not_json_at",
    "not_json_message",
]

NAME_SHOWN = 60


def name_shown(name: str) -> str:
    """A key as an error quotes it: a key of a million characters made an error
    (and a log line, and a database row) of a million characters."""
    return clip(repr(name), NAME_SHOWN)


@cache
def _token() -> re.Pattern[str]:
    """JSON tokens, to find where a repeated key is (error path only: compiled
    there, not at import; issue 16)."""
    return re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+|\s+')


def duplicate_key_at(text: str, start: int, end: int) -> tuple[str, int] | None:
    """The first key repeated within one object in `text[start:end]`, and its offset."""
    stack: list[set[str] | None] = []  # the keys of each open object; None for a list
    expect_key = False
    for match in _token().finditer(text, start, end):
        token = match.group()
        if token == "{":
            stack.append(set())
            expect_key = True
        elif token == "[":
            stack.append(None)
            expect_key = False
        elif token in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
        elif token == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif token == ":":
            expect_key = False
        elif expect_key and token.startswith('"'):
            keys = stack[-1]
            assert keys is not None
            key = json.loads(token)
            if key in keys:
                return key, match.start()
            keys.add(key)
            expect_key = False
    return None


def _max_digits() -> int:
    return sys.get_int_max_str_digits() or sys.maxsize


def not_json_at(text: str, start: int, end: int) -> tuple[str, int] | None:
    """The first NaN/Infinity or over-long integer in `text[start:end]`, and its offset."""
    limit = _max_digits()
    for match in _token().finditer(text, start, end):
        token = match.group()
        if token in ("NaN", "Infinity", "-Infinity"):
            return token, match.start()
        digits = token.removeprefix("-")
        if len(digits) > limit and digits.isdigit():
            return token, match.start()
    return None


def not_json_message(token: str | None, where: str) -> str:
    if token is None or token.endswith(("NaN", "Infinity")):
        name = token or "a value"
        return f"{name} {where} is not JSON: write a number, or null"
    digits = len(token.removeprefix("-"))
    return (
        f"an integer of {digits:,} digits {where}: over the {_max_digits():,}-digit limit "
        "for a number; quote it if it is an identifier"
    )


def duplicate_message(key: str, where: str) -> str:
    return (
        f"duplicate key {name_shown(key)} {where}: a key may appear only once in an object "
        "(readers disagree on which copy wins)"
    )
