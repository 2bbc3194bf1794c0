"""The `.json` reader as it was before the window (commit e68bf03): the whole text
in one string. Kept only as the oracle of the windowed reader's property test."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_refused import (
    duplicate_key_at,
    duplicate_message,
    name_shown,
    not_json_at,
    not_json_message,
)
from monitor.corpus.records import describe, json_text_is_text, to_document

WRAPPER_KEYS = ("news", "articles")

_WS = re.compile(r"[ \t\n\r]*")


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different; a repeated key would silently let the last win."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


class _NotJson(Exception):
    """A token Python's reader takes but a record may not hold: NaN, Infinity, or an
    integer past Python's digit limit (int() raised a bare ValueError, which ended the
    whole file as an internal error and lost the records after it)."""


def _constant(name: str) -> Any:
    raise _NotJson(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_constant)
# only to find where a refused value ends: any key, any constant, any integer
# (`len` of its digits: no digit limit, no cost)
_LENIENT = json.JSONDecoder(parse_int=len)


class _Duplicate(Exception):
    """A value that parsed but repeats a key (or holds a token that is not JSON): that
    record is invalid, the file goes on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Stop(Exception):
    """A syntax error that ends the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Cursor:
    """A position in the text and its 1-based line, advanced incrementally."""

    __slots__ = ("line", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def move(self, pos: int) -> None:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or '' at the end."""
        end = _WS.match(self.text, self.pos)
        assert end is not None  # the pattern matches the empty string
        self.move(end.end())
        return self.text[self.pos : self.pos + 1]

    def value(self) -> Any:
        """The next JSON value; _Duplicate (the cursor past it) if it repeats a key."""
        self.skip_ws()
        try:
            value, end = _DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise _Stop(exc.lineno, _syntax(exc)) from None
        except RecursionError:
            raise _Stop(self.line, "invalid JSON: nested too deeply") from None
        except _DuplicateKey as dup:
            raise self._duplicate(dup.key) from None
        except (_NotJson, ValueError):  # NaN, Infinity, int()'s digit limit
            raise self._not_json() from None
        self.move(end)
        return value

    def _end(self) -> int:
        """Where the value at the cursor ends, read leniently; _Stop if it is not JSON at all
        (a strict read stopped at a refused key or token before a syntax error after it)."""
        try:
            _value, end = _LENIENT.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise _Stop(exc.lineno, _syntax(exc)) from None
        except RecursionError:
            raise _Stop(self.line, "invalid JSON: nested too deeply") from None
        return end

    def _duplicate(self, key: str) -> _Duplicate:
        end = self._end()
        found = duplicate_key_at(self.text, self.pos, end)
        at = found[1] if found is not None else self.pos
        line = self.line + self.text.count("\n", self.pos, at)
        self.move(end)
        return _Duplicate(line, duplicate_message(found[0] if found else key, f"on line {line}"))

    def _not_json(self) -> _Duplicate:
        end = self._end()
        found = not_json_at(self.text, self.pos, end)
        at = found[1] if found is not None else self.pos
        line = self.line + self.text.count("\n", self.pos, at)
        self.move(end)
        return _Duplicate(line, not_json_message(found[0] if found else None, f"on line {line}"))

    def expect(self, chars: str, after: str) -> str:
        ch = self.skip_ws()
        if not ch or ch not in chars:
            found = repr(ch) if ch else "the end of the file"
            wanted = " or ".join(repr(c) for c in chars)
            column = self.pos - self.text.rfind("\n", 0, self.pos)
            raise _Stop(
                self.line,
                f"invalid JSON: expected {wanted} {after}, found {found} "
                f"(line {self.line}, column {column})",
            )
        self.move(self.pos + 1)
        return ch


def _syntax(exc: json.JSONDecodeError) -> str:
    message = f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return message + _trailing_comma_hint(exc)


def _trailing_comma_hint(exc: json.JSONDecodeError) -> str:
    """JSON has no trailing commas; Python's message does not say so."""
    text, pos = exc.doc, exc.pos
    if text[pos : pos + 1] in ("}", "]") and text[:pos].rstrip().endswith(","):
        return f": remove the trailing comma before {text[pos]!r}"
    return ""


def _array(source: str, cur: _Cursor, label: str) -> Iterator[Document | InvalidDocument]:
    cur.expect("[", "to open the list")
    if cur.skip_ws() == "]":
        cur.move(cur.pos + 1)
        return
    index = 0
    while True:
        cur.skip_ws()
        line, start = cur.line, cur.pos
        try:
            value = cur.value()
        except _Duplicate as dup:
            yield InvalidDocument(source, dup.line, f"{label} element {index}: {dup.message}")
        else:
            is_text = json_text_is_text(cur.text[start : cur.pos])
            yield to_document(source, line, value, what=f"{label} element {index}", is_text=is_text)
        index += 1
        if cur.expect(",]", f"after {label} element {index - 1}") == "]":
            return


def _object(source: str, cur: _Cursor) -> Iterator[Document | InvalidDocument]:
    """A top-level object: one article, or a wrapper whose `news`/`articles` list is streamed."""
    start_line = cur.line
    cur.expect("{", "to open the object")
    members: dict[str, Any] = {}
    lists: set[str] = set()  # wrapper lists streamed
    duplicate: _Duplicate | None = None  # the first repeated key: the object is invalid
    if cur.skip_ws() == "}":
        cur.move(cur.pos + 1)
    else:
        while True:
            if cur.skip_ws() != '"':
                cur.expect('"', "to start a member name")
            key_line = cur.line
            key = cur.value()
            repeated = key in members or key in lists
            if repeated and duplicate is None:
                duplicate = _Duplicate(key_line, duplicate_message(key, f"on line {key_line}"))
            cur.expect(":", f"after member name {name_shown(key)}")
            if key in WRAPPER_KEYS and not repeated and cur.skip_ws() == "[":
                lists.add(key)
                yield from _array(source, cur, f"{key!r} list")
            else:
                try:
                    members[key] = cur.value()
                except _Duplicate as dup:
                    duplicate = duplicate or dup
                    members[key] = None
            if cur.expect(",}", f"after member {name_shown(key)}") == "}":
                break
    if duplicate is not None:
        yield InvalidDocument(source, duplicate.line, duplicate.message)
        return
    if lists:
        if "webUrl" in members:  # never dropped in silence: an article, or a wrapper?
            wrapper = next(k for k in WRAPPER_KEYS if k in lists)
            yield InvalidDocument(
                source,
                start_line,
                f"the JSON object has a webUrl and a {wrapper!r} list of articles, so it "
                "is neither one article nor a wrapper of them: its own fields were not "
                f"checked (the list's were). Move it into the list, or rename {wrapper!r} "
                "if it is a field of this article",
            )
        return
    misplaced = [k for k in WRAPPER_KEYS if k in members and "webUrl" not in members]
    if misplaced:
        value = members[misplaced[0]]
        yield InvalidDocument(
            source,
            start_line,
            f"{misplaced[0]!r} is {describe(value)}: expected a list of article objects",
        )
        return
    yield to_document(source, start_line, members, what="the JSON object")


def parse_json(source: str, text: str) -> Iterator[Document | InvalidDocument]:
    """A `.json` file: an article object, a list of them, or `{"news": [...]}`."""
    cur = _Cursor(text)
    first = cur.skip_ws()
    try:
        if not first:
            yield InvalidDocument(
                source,
                1,
                'empty file: expected an article object, a list of them, or {"news": [...]}',
            )
            return
        if first == "[":
            yield from _array(source, cur, "list")
        elif first == "{":
            yield from _object(source, cur)
        else:
            line = cur.line
            try:
                value = cur.value()
            except _Duplicate as refused:  # a top-level NaN: no record, and nothing after it
                yield InvalidDocument(source, refused.line, refused.message)
                return
            yield InvalidDocument(
                source,
                line,
                f"the JSON document is {describe(value)}: expected an article object, "
                'a list of them, or {"news": [...]}',
            )
            return
        if cur.skip_ws():
            yield InvalidDocument(
                source,
                cur.line,
                f"invalid JSON: extra data after the top-level value (line {cur.line}): "
                "a .json file holds one value; use .jsonl for one article per line",
            )
    except _Stop as stop:
        yield InvalidDocument(source, stop.line, stop.message)


def parse_json_line(source: str, line_no: int, line: str) -> Document | InvalidDocument | None:
    """One JSONL line; None for a blank line.

    A byte-order mark at the start of any line is dropped: exports joined with
    `cat` carry one at the start of each part, and it is never content.
    """
    line = line.removeprefix("\ufeff")
    if not line.strip():
        return None
    try:
        value = _DECODER.decode(line)
    except _DuplicateKey as dup:
        found = duplicate_key_at(line, 0, len(line))
        column = f"column {found[1] + 1}" if found else "this line"
        return InvalidDocument(
            source, line_no, duplicate_message(found[0] if found else dup.key, f"at {column}")
        )
    except json.JSONDecodeError as exc:
        return InvalidDocument(
            source,
            line_no,
            f"invalid JSON on this line: {exc.msg} (column {exc.colno}){_trailing_comma_hint(exc)}",
        )
    except (_NotJson, ValueError):  # NaN, Infinity, int()'s digit limit
        found = not_json_at(line, 0, len(line))
        column = f"at column {found[1] + 1}" if found else "on this line"
        return InvalidDocument(
            source, line_no, not_json_message(found[0] if found else None, column)
        )
    except RecursionError:
        return InvalidDocument(source, line_no, "invalid JSON on this line: nested too deeply")
    return to_document(
        source, line_no, value, what="the JSONL line", is_text=json_text_is_text(line)
    )


def parse_json_lines(source: str, lines: Iterable[str]) -> Iterator[Document | InvalidDocument]:
    """JSONL/NDJSON text: one article object per line, blank lines skipped."""
    for line_no, line in enumerate(lines, start=1):
        item = parse_json_line(source, line_no, line)
        if item is not None:
            yield item


def split_lines(text: str) -> Iterator[str]:
    """`text` split on '\\n' lazily (no list of every line)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1
