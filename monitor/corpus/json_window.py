"""A window on the text of a `.json` file: the cursor that json_stream's walk moves.

A `.json` file was read whole, bytes and then text (a 400 MB list peaked past
1 GB). The text now comes in chunks; the window holds the value being read and
a read-ahead, and `raw_decode` sees only that. Each value reads as in the whole
text: the decoder reads left to right and decides each failure where it stops,
so a value decoded with MARGIN characters after it, or a failure MARGIN before
the window's edge, is the whole text's (an unterminated string aside: that one
is decided at the end of the text). Any other outcome is tried again with as
much text again. A value over `cap` characters is reported (`TooBig`) and
skipped by a string- and bracket-aware scan (`Span`), never held. Lines,
columns and the trailing-comma hint count the text dropped from the window.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from monitor.corpus.json_refused import (
    duplicate_key_at,
    duplicate_message,
    not_json_at,
    not_json_message,
)
from monitor.corpus.nesting import MAX_DEPTH, too_deep_message

__all__ = [
    "DECODER",
    "MARGIN",
    "Cursor",
    "DuplicateKey",
    "NotJson",
    "Refused",
    "Stop",
    "TooBig",
    "TooDeep",
    "trailing_comma_hint",
]

# Characters after a value that the decoder may have looked at: the rest of a
# number's `1e+` or of a `-Infinity`, the `\uXXXX` after a surrogate.
MARGIN = 16

_WS = re.compile(r"[ \t\n\r]*")
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE = re.compile(r'["\[\]{}]')
_SCALAR = re.compile(r"[-+.0-9eE]*")  # all a number (or a constant's start) may take
_CLOSER = {"[": ord("]"), "{": ord("}")}


class DuplicateKey(Exception):
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
                raise DuplicateKey(key)
            seen.add(key)
    return out


class NotJson(Exception):
    """A token Python's reader takes but a record may not hold: NaN, Infinity, or an
    integer past Python's digit limit (int() raised a bare ValueError, which ended the
    whole file as an internal error and lost the records after it)."""


def _constant(name: str) -> Any:
    raise NotJson(name)


DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_constant)
# only to find where a refused value ends: any key, any constant, any integer
# (`len` of its digits: no digit limit, no cost)
_LENIENT = json.JSONDecoder(parse_int=len)


class Refused(Exception):
    """A value that parsed but repeats a key (or holds a token that is not JSON): that
    record is invalid, the file goes on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class TooDeep(Refused):
    """A value nested too deeply for the decoder, skipped by its brackets: the record
    that holds it is invalid, the file goes on."""


class Stop(Exception):
    """A syntax error that ends the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class TooBig(Exception):
    """A value over the cap, starting on `line`: skipped (the cursor is past it)."""

    def __init__(self, line: int, chars: int, cap: int) -> None:
        super().__init__(line, chars)
        self.line = line
        self.chars = chars
        self.cap = cap

    def message(self, what: str, *, at_least: bool = False) -> str:
        """`at_least`: `chars` counts only part of it (an object's names and values)."""
        size = f"at least {self.chars:,}" if at_least else f"{self.chars:,}"
        return (
            f"{what} is {size} characters, over the {self.cap:,}-character limit "
            "for one record: it was skipped; split it, or make its large fields smaller"
        )


def trailing_comma_hint(text: str, pos: int, before: str = "") -> str:
    """JSON has no trailing commas; Python's message does not say so. `before`: the
    last non-blank character of the text that came before `text`."""
    if text[pos : pos + 1] in ("}", "]"):
        kept = text[:pos].rstrip()
        if (kept[-1:] if kept else before) == ",":
            return f": remove the trailing comma before {text[pos]!r}"
    return ""


class Span:
    """Where a value ends, found by reading its text piece by piece: its strings and
    brackets (a closing bracket of the wrong kind ends it too: the decoder stops
    there), or for a bare token, its run of number characters."""

    __slots__ = ("closers", "escaped", "in_string", "mismatch", "scalar")

    def __init__(self, first: str) -> None:
        self.closers = bytearray()
        self.in_string = first == '"'
        self.scalar = not first or first not in '"[{'
        if first in _CLOSER:
            self.closers.append(_CLOSER[first])
        self.escaped = False
        self.mismatch = False

    def feed(self, text: str, pos: int) -> int | None:
        """Where the value ends in `text`, reading from `pos`; None if not in it."""
        if self.scalar:
            end = _SCALAR.match(text, pos)
            assert end is not None  # the pattern matches the empty string
            return end.end() if end.end() < len(text) else None
        if self.escaped:
            if pos >= len(text):
                return None
            pos, self.escaped = pos + 1, False
        closers = self.closers
        while True:
            if self.in_string:
                found = _IN_STRING.search(text, pos)
                if found is None:
                    return None
                pos = found.end()
                if found.group() == '"':
                    self.in_string = False
                    if not closers:
                        return pos
                elif pos >= len(text):
                    self.escaped = True
                    return None
                else:
                    pos += 1
                continue
            found = _OUTSIDE.search(text, pos)
            if found is None:
                return None
            char, pos = found.group(), found.end()
            if char == '"':
                self.in_string = True
            elif char in _CLOSER:
                closers.append(_CLOSER[char])
            elif ord(char) == closers[-1]:
                closers.pop()
                if not closers:
                    return pos
            else:
                self.mismatch = True
                return pos


class Cursor:
    """A position in the text and its 1-based line, over a window of it.

    `text` holds the text from a point at or before `pos`; `base` is where that
    point is in the whole text, `newline` where the last '\\n' before it is (-1:
    none) and `before` the last non-blank character before it. More text comes
    from `more` (None: the rest of the text is in the window).
    """

    __slots__ = ("base", "before", "began", "cap", "line", "more", "newline", "pos", "text")

    def __init__(self, text: str, more: Iterator[str] | None, cap: int) -> None:
        self.text = text
        self.more = more
        self.cap = cap
        self.pos = 0
        self.line = 1
        self.base = 0
        self.newline = -1
        self.before = ""
        self.began = 0  # where the last value read began

    def _fill(self, chars: int) -> bool:
        """Drop the text before the cursor and add at least `chars` characters (fewer
        at the end of the file); False if there were none."""
        if self.more is None:
            return False
        parts: list[str] = []
        added = 0
        while added < chars:
            chunk = next(self.more, None)
            if chunk is None:
                self.more = None
                break
            parts.append(chunk)
            added += len(chunk)
        if not parts:
            return False
        dropped = self.text[: self.pos]
        if dropped:
            last = dropped.rfind("\n")
            if last >= 0:
                self.newline = self.base + last
            kept = dropped.rstrip()
            if kept:
                self.before = kept[-1]
            self.base += self.pos
        rest = self.text[self.pos :]
        self.text = "".join([rest, *parts]) if rest or len(parts) > 1 else parts[0]
        self.pos = 0
        return True

    def move(self, pos: int) -> None:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos

    def column(self, pos: int) -> int:
        last = self.text.rfind("\n", 0, pos)
        return pos - last if last >= 0 else self.base + pos - self.newline

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or '' at the end."""
        while True:
            end = _WS.match(self.text, self.pos)
            assert end is not None  # the pattern matches the empty string
            self.move(end.end())
            if self.pos < len(self.text) or not self._fill(1):
                return self.text[self.pos : self.pos + 1]

    def value(self) -> Any:
        """The next JSON value; Refused (the cursor past it) if it repeats a key,
        TooBig (the cursor past it) if it is over the cap, Stop at a syntax error."""
        self.skip_ws()
        self.began = self.pos
        held = False  # the whole value is in the window
        while True:
            end = None
            try:
                value, end = DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self._decided(exc):
                    raise self._syntax(exc) from None
            except RecursionError:
                raise self._too_deep() from None
            except DuplicateKey as dup:
                raise self._duplicate(dup.key) from None
            except NotJson:  # NaN, Infinity
                raise self._not_json() from None
            except ValueError:  # int()'s digit limit; a float's digits if the edge cut them
                if held or self.more is None:
                    raise self._not_json() from None
                self._end()  # the whole value in the window, then read again
                held, self.began = True, self.pos
                continue
            else:
                if self._whole(end):
                    self._past(end)
                    return value
            self._grow(end)
            self.began = self.pos

    def _whole(self, end: int) -> bool:
        """Whether a value decoded up to `end` is read as the whole text reads it."""
        return self.more is None or len(self.text) - end >= MARGIN

    def _decided(self, exc: json.JSONDecodeError) -> bool:
        """Whether the whole text fails there too (a failure at the window's edge may
        be the edge's), and within the cap (past it, the value is skipped)."""
        if exc.pos - self.pos >= self.cap:
            return False
        if exc.msg.startswith("Unterminated string"):  # decided at the end of the text
            return self.more is None and len(self.text) - self.pos < self.cap + MARGIN
        return self.more is None or exc.pos + MARGIN <= len(self.text)

    def _past(self, end: int) -> None:
        """Move past the value just read, or past it and TooBig if it is over the cap."""
        if end - self.pos > self.cap:
            too_big = TooBig(self.line, end - self.pos, self.cap)
            self.move(end)
            raise too_big
        self.move(end)

    def _grow(self, decoded: int | None) -> None:
        """More of the value at the cursor: as much again as is held, up to the cap
        and MARGIN (the decoder builds what it reads: twice the cap held twice its
        objects). Past them (MARGIN to tell the errors within the cap), or at the end
        of the file, it is skipped (undecided with the whole text in hand): TooBig or
        Stop raised.
        `decoded`: where it ended when decoded without MARGIN after it; within the
        cap, only those characters are missing."""
        held = len(self.text) - self.pos
        short = decoded is not None and decoded - self.pos <= self.cap
        if (held < self.cap + MARGIN or short) and self.more is not None:
            self._fill(max(min(held, self.cap + MARGIN - held), MARGIN))  # or the end found
            return
        raise self._skip()

    def _too_deep(self) -> TooDeep | Stop:
        """Past a value nested too deeply for the decoder (~970 levels), found by its
        brackets: Refused, and the file goes on (a Stop lost every record after it).
        Stop if its end cannot be told."""
        line = self.line
        skipped = self._skip(f"nested deeper than {MAX_DEPTH:,} levels")
        if isinstance(skipped, Stop):
            return skipped
        return TooDeep(line, too_deep_message("the value"))

    def _skip(self, why: str | None = None) -> TooBig | Stop:
        """Past a value over the cap (or `why` it is skipped), without holding it;
        TooBig, or Stop if its end cannot be told (a bracket that closes none, the
        end of the file)."""
        why = why or f"over the {self.cap:,}-character limit for one record"
        span = Span(self.text[self.pos : self.pos + 1])
        line, start = self.line, self.base + self.pos
        scanned = self.pos if span.scalar else self.pos + 1
        while span.scalar:  # a constant, or a number: where the decoder says it ends
            try:
                _value, stop = _LENIENT.raw_decode(self.text, self.pos)
            except (json.JSONDecodeError, RecursionError, ValueError):
                break
            if self._whole(stop):
                chars = stop - self.pos
                self.move(stop)
                return TooBig(line, chars, self.cap)
            if stop - self.pos > self.cap + MARGIN:
                return self._skip_number(line, start, stop)
            self._fill(MARGIN)
            scanned = self.pos
        while True:
            end = span.feed(self.text, scanned)
            if span.mismatch and end is not None:
                self.move(end - 1)
                return Stop(
                    self.line,
                    f"invalid JSON: {self.text[end - 1]!r} closes no bracket of the value "
                    f"that starts on line {line}, {why} (line {self.line}, column "
                    f"{self.column(end - 1)}): the rest of the file was not read",
                )
            if end is not None:
                chars = self.base + end - start
                self.move(end)
                return TooBig(line, chars, self.cap)
            self.move(len(self.text))
            if not self._fill(1):
                if span.scalar:  # a bare token running to the end of the file
                    return TooBig(line, self.base + self.pos - start, self.cap)
                return Stop(
                    self.line,
                    f"invalid JSON: the file ends inside the value that starts on line {line}, "
                    f"{why}",
                )
            scanned = 0

    def _skip_number(self, line: int, start: int, stop: int) -> TooBig:
        """Past a number too long to hold, decoded so far up to `stop` (near the window's
        edge): the decoder reads on from its last digit, after a stand-in for the part
        it is in (whole, fraction, exponent), so it ends where the whole text's does (a
        run of number characters took a '.5' after an exponent, or a '-', for its own)."""
        cut = max(self.text.rfind(c, self.pos, stop) for c in ".eE")
        part = "1" if cut < 0 else "0.1" if self.text[cut] == "." else "1e1"
        while True:
            self.move(stop - 1)  # its last digit
            if len(self.text) - self.pos <= MARGIN:
                self._fill(MARGIN)
            more = self.text[self.pos + 1 :]
            _value, end = _LENIENT.raw_decode(part + more)
            stop = self.pos + 1 + end - len(part)
            if self._whole(stop):
                self.move(stop)
                return TooBig(line, self.base + self.pos - start, self.cap)
            read = more[: end - len(part)]
            if "e" in read or "E" in read:
                part = "1e1"
            elif "." in read:
                part = "0.1"

    def _syntax(self, exc: json.JSONDecodeError) -> Stop:
        line = self.line + self.text.count("\n", self.pos, exc.pos)
        message = f"invalid JSON: {exc.msg} (line {line}, column {self.column(exc.pos)})"
        return Stop(line, message + trailing_comma_hint(self.text, exc.pos, self.before))

    def _end(self) -> int:
        """Where the value at the cursor ends, read leniently; Stop if it is not JSON at all
        (a strict read stopped at a refused key or token before a syntax error after it)."""
        while True:
            end = None
            try:
                _value, end = _LENIENT.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self._decided(exc):
                    raise self._syntax(exc) from None
            except RecursionError:
                raise self._too_deep() from None
            else:
                if self._whole(end):
                    return end
            self._grow(end)

    def _duplicate(self, key: str) -> Refused:
        end = self._end()
        found = duplicate_key_at(self.text, self.pos, end)
        at = found[1] if found is not None else self.pos
        line = self.line + self.text.count("\n", self.pos, at)
        self._past(end)
        return Refused(line, duplicate_message(found[0] if found else key, f"on line {line}"))

    def _not_json(self) -> Refused:
        end = self._end()
        found = not_json_at(self.text, self.pos, end)
        at = found[1] if found is not None else self.pos
        line = self.line + self.text.count("\n", self.pos, at)
        self._past(end)
        return Refused(line, not_json_message(found[0] if found else None, f"on line {line}"))

    def expect(self, chars: str, after: str) -> str:
        ch = self.skip_ws()
        if not ch or ch not in chars:
            found = repr(ch) if ch else "the end of the file"
            wanted = " or ".join(repr(c) for c in chars)
            raise Stop(
                self.line,
                f"invalid JSON: expected {wanted} {after}, found {found} "
                f"(line {self.line}, column {self.column(self.pos)})",
            )
        self.move(self.pos + 1)
        return ch
