"""Parsed mapping → Document or InvalidDocument, with messages that say what to fix.

Every format ends here, so a missing `webUrl` or a width that is not a
number reads the same whether it came from front matter, JSON or JSONL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from monitor import urls
from monitor.corpus.article import Article, Document, InvalidDocument
from monitor.corpus.json_refused import name_shown
from monitor.corpus.nesting import deep_field, too_deep_message
from monitor.text_clip import clip

# A path into the record (as pydantic reports it) → the 1-based line of that
# field, or None when the format cannot tell cheaply.
LineOf = Callable[[Sequence[str | int]], int | None]

MAX_ERRORS_SHOWN = 5
_REPR_LIMIT = 80
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# not text: NUL (PostgreSQL refuses it in any text column) and lone UTF-16
# surrogates (`"\ud800"` is valid JSON, but no UTF-8 writer can encode it)
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")


@cache
def _json_not_text() -> re.Pattern[str]:
    """How such a character gets into a value parsed from JSON text: as itself, or
    as a `\\u` escape (`\\u0000`, `\\uD800`-`\\uDFFF`, hex in either case). JSON
    text without either has none in any key or value (`json_text_is_text`).
    Compiled at the first text holding a `\\u`, not at import (issue 16)."""
    return re.compile(r"[\x00\ud800-\udfff]|\\u(?:0000|[dD][89a-fA-F])")


_EXPECTED: dict[str, str] = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "datetime_type": "an RFC 3339 timestamp",
    "datetime_parsing": "an RFC 3339 timestamp",
    "datetime_from_date_parsing": "an RFC 3339 timestamp",
    "datetime_object_invalid": "an RFC 3339 timestamp",
}


def describe(value: object) -> str:
    """A short, human name for a value's JSON type ("a list", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _shown(value: object) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value)
        if len(text) > _REPR_LIMIT:
            text = text[: _REPR_LIMIT - 4] + "...'"
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    return describe(value)


def dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _error_text(err: Any) -> str:
    where = dotted(err["loc"]) or "record"
    if err["type"] == "missing":
        return f"missing required field {where}"
    expected = _EXPECTED.get(err["type"])
    if expected is None:
        return f"field {where}: {err['msg']}"
    return f"field {where}: expected {expected}, got {_shown(err['input'])}"


def format_validation_error(
    exc: ValidationError, line_of: LineOf | None = None
) -> tuple[str, int | None]:
    """One readable clause per field ("field images.0.width: expected an integer, got 'abc'").

    With `line_of`, errors are listed in document order and the line of the
    first one is returned, so the report points where the reader should look.
    """
    errors = exc.errors(include_url=False)
    located: list[tuple[int | None, str]] = [
        (line_of(tuple(err["loc"])) if line_of is not None else None, _error_text(err))
        for err in errors
    ]
    if line_of is not None:
        located.sort(key=lambda pair: pair[0] if pair[0] is not None else 0)
    parts = [text for _line, text in located[:MAX_ERRORS_SHOWN]]
    if len(located) > MAX_ERRORS_SHOWN:
        parts.append(f"and {len(located) - MAX_ERRORS_SHOWN} more")
    return "; ".join(parts), located[0][0] if located else None


def web_url_problem(url: str) -> str | None:
    """Why `url` is not a requestable http(s) URL (`monitor.urls.problem`), or None.

    The verdict is the one rule's; this only words it for a webUrl.
    """
    if urls.plain(url):
        return None
    return _parsed_web_url_problem(url)


def _parsed_web_url_problem(url: str) -> str | None:
    shown = urls.shown(url)  # user-info and secret parameters are never echoed
    if not url.strip():
        return "webUrl is empty: give the article's absolute http(s) URL"
    if _SPACE_OR_CONTROL.search(url):
        return f"webUrl {shown!r} contains whitespace or control characters: percent-encode them"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        return f"webUrl {shown!r} cannot be parsed ({exc}): fix the host or port"
    if parts.scheme not in ("http", "https"):
        scheme = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        return f"webUrl {shown!r} has {scheme}: it must be an absolute http(s) URL"
    if not host:
        return f"webUrl {shown!r} has no host: it must be an absolute http(s) URL"
    reason = urls.problem(url)
    return None if reason is None else f"webUrl {shown!r} {reason}"


def to_document(
    source: str,
    line: int | None,
    raw: object,
    *,
    what: str = "record",
    line_of: LineOf | None = None,
    is_text: bool = False,
    shallow: bool = False,
) -> Document | InvalidDocument:
    """Validate one parsed record; never raises for any JSON- or YAML-shaped input.

    `is_text`: the caller knows that no key or string holds a NUL or a lone
    surrogate (`json_text_is_text` of the JSON it was parsed from), so the
    walk of `not_text` is skipped. `shallow`: the caller knows the record is
    within nesting.MAX_DEPTH (`nesting.text_is_shallow`), so that walk is skipped.
    """
    if not isinstance(raw, dict):
        return InvalidDocument(
            source, line, f"{what} is {describe(raw)}: expected a mapping of article fields"
        )
    record: dict[str, Any] = raw
    deep = None if shallow else deep_field(record)
    if deep is not None:
        at = line_of((deep,)) if line_of is not None else None
        return InvalidDocument(source, at or line, too_deep_message(f"field {name_shown(deep)}"))
    bad = None if is_text else not_text(record)
    if bad is not None:
        loc, message = bad
        at = line_of(loc) if line_of is not None else None
        return InvalidDocument(source, at or line, message)
    try:
        article = Article.model_validate(record)
    except ValidationError as exc:
        leap = _with_leap_seconds(record, exc)
        if leap is None:
            message, at = format_validation_error(exc, line_of)
            return InvalidDocument(source, at or line, message)
        article = leap
    except RecursionError:  # a backstop: the walk above keeps validation far from the limit
        return InvalidDocument(source, line, too_deep_message(what))
    problem = web_url_problem(article.webUrl)
    if problem is not None:
        at = line_of(("webUrl",)) if line_of is not None else None
        return InvalidDocument(source, at or line, problem)
    return Document(source, line if line is not None else 1, record, article)


@cache
def _leap() -> re.Pattern[str]:
    """RFC 3339 allows second 60, a leap second (`2016-12-31T23:59:60Z`); datetime
    does not. Compiled at the first timestamp refused, not at import (issue 16)."""
    return re.compile(r"(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d):60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d|)")


_TIME_ERRORS = frozenset(k for k, v in _EXPECTED.items() if v == "an RFC 3339 timestamp")


def _leap_second(value: object) -> str | None:
    """A leap second as the last microsecond of its minute (so it orders before the next)."""
    match = _leap().fullmatch(value) if isinstance(value, str) else None
    return None if match is None else f"{match[1]}:59.999999{match[2]}"


def _with_leap_seconds(record: dict[str, Any], exc: ValidationError) -> Article | None:
    """The model of a record whose only fault is a leap second in its timestamps, or None.

    Asked only once validation failed, so other records pay nothing. The record itself
    is left as written (it is what was signed); the model reads each leap second as
    23:59:59.999999 of its minute.
    """
    errors = exc.errors(include_url=False)
    fixes = [(err["loc"], _leap_second(err["input"])) for err in errors]
    if any(
        err["type"] not in _TIME_ERRORS or fix is None
        for err, (_loc, fix) in zip(errors, fixes, strict=True)
    ):
        return None
    patched: Any = dict(record)
    for loc, fix in fixes:
        node = patched
        for part in loc[:-1]:  # copy the path down to the field, never the record's own
            child = node[part]
            node[part] = child = dict(child) if isinstance(child, dict) else list(child)
            node = child
        node[loc[-1]] = fix
    try:
        return Article.model_validate(patched)
    except ValidationError:
        return None


def json_text_is_text(text: str) -> bool:
    """Whether every key and string parsed from the JSON `text` is text (see
    `not_text`), by a scan of the text itself: ~20x cheaper than walking the
    record (a tenth of the load of a JSON Lines corpus). False only means
    "walk the record" (an escaped backslash before `u0000` is no NUL)."""
    if "\\u" not in text:  # the usual case: one C-speed find, then one class scan
        return _NOT_TEXT.search(text) is None
    return _json_not_text().search(text) is None


# Where a value is in the record: None for the record itself, else (its parent's
# place, its key or index).
_Place = tuple[Any, str | int] | None


def not_text(record: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """The first key or string value that is not text (a NUL, a lone surrogate).

    Such a string passed every check and then broke the writers: the JSON and
    JUnit reports (exit 70), the daemon's database (SQLite cannot encode a
    surrogate, PostgreSQL refuses NUL), stopping the whole corpus for one
    document. Iterative: the readers already bound the nesting depth.

    A container met again (a YAML alias shares it) is not walked again: its
    first walk, earlier in document order, found nothing. Walked at each use, a
    document of 300 bytes expanding to the alias limit's million nodes cost
    0.8 s of CPU here, and a .yaml stream holds thousands of such documents.

    A value waiting on the stack holds (its parent's place, its key or index),
    its path built only for the value found: a tuple of the whole path each
    held the depth times the values waiting (a 3 MB line nested 254 deep, 4,000
    values a level: 1.3 GB).
    """
    stack: list[tuple[_Place, object]] = [(None, record)]
    walked: set[int] = set()
    while stack:
        place, value = stack.pop()
        if isinstance(value, str):
            found = _NOT_TEXT.search(value)
            if found is not None:
                loc = _loc(place)
                return loc, _not_text_message(f"field {dotted(loc)}", found.group())
            continue
        if not isinstance(value, dict | list | tuple) or id(value) in walked:
            continue
        walked.add(id(value))  # a container of this record: alive, so its id is its own
        if isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                found = _NOT_TEXT.search(key) if isinstance(key, str) else None
                if found is not None:
                    loc = _loc(place)
                    where = f"a key in {dotted(loc)}" if loc else "a field name"
                    return loc, _not_text_message(where, found.group())
                stack.append(((place, key), item))
        else:
            stack.extend(((place, i), item) for i, item in reversed(list(enumerate(value))))
    return None


def _loc(place: _Place) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    while place is not None:
        place, part = place
        parts.append(part)
    return tuple(reversed(parts))


def _not_text_message(where: str, char: str) -> str:
    where = clip(where, 120)  # a path through keys of any length
    if char == "\x00":
        return f"{where} holds a NUL character (\\u0000): not text; remove it"
    return (
        f"{where} holds a lone UTF-16 surrogate (\\u{ord(char):04x}), which is not a "
        "character: write the character itself, or both halves of its surrogate pair"
    )
