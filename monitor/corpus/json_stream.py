"""JSON and JSON Lines records, streamed one element at a time.

A large `.json` list is never built, nor read, as a whole: the file's text
comes a chunk at a time through a window (monitor.corpus.json_window), from
which `JSONDecoder.raw_decode` reads one element at a time; line numbers
advance by counting newlines between consecutive offsets only. A syntax error
ends the file (there is no reliable way to resynchronise inside JSON); a bad
element or JSONL line is reported and the rest go on; an element over the cap
of one record is reported and skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from monitor.corpus import files, text_survey
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_refused import (
    duplicate_key_at,
    duplicate_message,
    name_shown,
    not_json_at,
    not_json_message,
)
from monitor.corpus.json_window import (
    DECODER,
    Cursor,
    DuplicateKey,
    NotJson,
    Refused,
    Stop,
    TooBig,
    TooDeep,
    trailing_comma_hint,
)
from monitor.corpus.nesting import MAX_DEPTH, deeper_than, text_is_shallow, too_deep_message
from monitor.corpus.records import describe, json_text_is_text, to_document

Item = Document | InvalidDocument

WRAPPER_KEYS = ("news", "articles")
CHUNK = 1 << 18  # bytes read at a time: the window's read-ahead


def _array(source: str, cur: Cursor, label: str) -> Iterator[Item]:
    cur.expect("[", "to open the list")
    if cur.skip_ws() == "]":
        cur.move(cur.pos + 1)
        return
    index = 0
    while True:
        cur.skip_ws()
        line = cur.line
        try:
            value = cur.value()
        except Refused as dup:
            yield InvalidDocument(source, dup.line, f"{label} element {index}: {dup.message}")
        except TooBig as big:
            yield InvalidDocument(source, big.line, big.message(f"{label} element {index}"))
        else:
            text = cur.text[cur.began : cur.pos]
            yield to_document(
                source,
                line,
                value,
                what=f"{label} element {index}",
                is_text=json_text_is_text(text),
                shallow=text_is_shallow(text),
            )
        index += 1
        if cur.expect(",]", f"after {label} element {index - 1}") == "]":
            return


_TELLING = frozenset(("webUrl", *WRAPPER_KEYS))  # names kept past the cap


class _Members:
    """The members of a top-level object read so far, and what makes it invalid.

    Their names and values count towards the cap of one record (the wrapper
    lists aside: their elements are records of their own); past it, the values
    are dropped, and of the names read from then on only those that tell what
    the object is (`webUrl`, the wrappers') are kept: all of them made a 100 MB
    object of 8.3M small members peak at 728 MiB. A name repeated past the cap
    is then found only among those kept; the object is invalid either way.
    """

    __slots__ = ("cap", "chars", "duplicate", "lists", "too_big", "values")

    def __init__(self, cap: int) -> None:
        self.values: dict[str, Any] = {}
        self.lists: set[str] = set()  # wrapper lists streamed
        self.duplicate: Refused | None = None  # the first repeated key: the object is invalid
        self.cap = cap
        self.chars = 0
        self.too_big = False

    def add(self, key: str | None, value: Any, chars: int) -> None:
        """A member's characters (`key` None: none kept, as for a name alone, or one
        over the cap, which is no name that matters)."""
        self.chars += chars
        if self.chars > self.cap and not self.too_big:
            self.too_big = True
            self.values = dict.fromkeys(self.values)
        if key is None:
            return
        if not self.too_big:
            self.values[key] = value
        elif key in _TELLING or key in self.values:
            self.values[key] = None


def _nests_too_deep(cur: Cursor, value: Any) -> bool:
    """Whether a member's value, just read, takes its object past nesting.MAX_DEPTH
    (the object counted, as `to_document` counts an article's own mapping)."""
    if not isinstance(value, dict | list) or text_is_shallow(cur.text[cur.began : cur.pos]):
        return False
    return deeper_than(value, MAX_DEPTH - 1)


def _too_deep(line: int, shown: str) -> Refused:
    """A member nested too deeply, named as `to_document` names a field, on its
    name's line whatever its depth: a wrapper's own member (beside its `news`
    list) was refused only past the decoder's ~970 levels, and an article's named
    the object's first line below them and the value's above."""
    return Refused(line, too_deep_message(f"field {shown}"))


def _object(source: str, cur: Cursor) -> Iterator[Item]:
    """A top-level object: one article, or a wrapper whose `news`/`articles` list is streamed."""
    start_line = cur.line
    cur.expect("{", "to open the object")
    found = _Members(cur.cap)
    if cur.skip_ws() == "}":
        cur.move(cur.pos + 1)
    else:
        while True:
            if cur.skip_ws() != '"':
                cur.expect('"', "to start a member name")
            key_line = cur.line
            try:
                key = cur.value()
            except TooBig as big:  # no name that matters: the object is over the cap
                found.add(None, None, big.chars)
                key = None
            else:
                found.add(None, None, cur.pos - cur.began)  # its name counts too
            repeated = key is not None and (key in found.values or key in found.lists)
            if repeated and found.duplicate is None:
                found.duplicate = Refused(key_line, duplicate_message(key, f"on line {key_line}"))
            shown = "over the limit" if key is None else name_shown(key)
            cur.expect(":", f"after member name {shown}")
            if key in WRAPPER_KEYS and not repeated and cur.skip_ws() == "[":
                found.lists.add(key)
                yield from _array(source, cur, f"{key!r} list")
            else:
                try:
                    value = cur.value()
                except TooDeep:
                    found.duplicate = found.duplicate or _too_deep(key_line, shown)
                    found.add(key, None, 0)
                except Refused as dup:
                    found.duplicate = found.duplicate or dup
                    found.add(key, None, 0)
                except TooBig as big:
                    found.add(key, None, big.chars)
                else:
                    if found.duplicate is None and _nests_too_deep(cur, value):
                        found.duplicate = _too_deep(key_line, shown)
                    found.add(key, value, cur.pos - cur.began)
            if cur.expect(",}", f"after member {shown}") == "}":
                break
    members = found.values
    if found.duplicate is not None:
        yield InvalidDocument(source, found.duplicate.line, found.duplicate.message)
        return
    if found.lists:
        if "webUrl" in members:  # never dropped in silence: an article, or a wrapper?
            wrapper = next(k for k in WRAPPER_KEYS if k in found.lists)
            yield InvalidDocument(
                source,
                start_line,
                f"the JSON object has a webUrl and a {wrapper!r} list of articles, so it "
                "is neither one article nor a wrapper of them: its own fields were not "
                f"checked (the list's were). Move it into the list, or rename {wrapper!r} "
                "if it is a field of this article",
            )
        return
    if found.too_big:
        yield InvalidDocument(
            source,
            start_line,
            # its names and values: the punctuation between them is not counted
            TooBig(start_line, found.chars, cur.cap).message("the JSON object", at_least=True),
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


def parse_json(
    source: str, text: str, *, cap: int = files.MAX_YAML_BYTES
) -> Iterator[Document | InvalidDocument]:
    """A `.json` file's text in hand: an article object, a list of them, or `{"news": [...]}`."""
    yield from _walk(source, Cursor(text, None, cap))


def read_json_stream(
    source: str,
    fh: BinaryIO,
    *,
    chunk: int = CHUNK,
    cap: int = files.MAX_YAML_BYTES,
    cursor: Callable[[str, Iterator[str] | None, int], Cursor] = Cursor,
) -> Iterator[Item]:
    """Every record of a `.json` file, as `parse_text` gives them for its whole text,
    reading `chunk` bytes at a time; an element over `cap` characters is skipped.
    `cursor` makes the window (`sign --in-place` taps it: monitor.secured.inplace.json_tap).

    Two passes over the bytes (monitor.corpus.text_survey): a file that is not
    UTF-8 text is refused before any record, as when it was decoded whole, and
    whether its lines end in CR alone (which every error then says) is known.
    """
    from monitor.corpus import CR_ONLY  # the wording of parse_text

    try:
        if _size(fh) > files.MAX_FILE_BYTES:  # refused before reading, as read_whole does
            raise files.over_limit(".json")
        survey = text_survey.survey(fh, chunk, ".json")
        fh.seek(0)
        for item in _walk(source, cursor("", text_survey.texts(fh, chunk, survey), cap)):
            if survey.cr_only and isinstance(item, InvalidDocument):
                item = InvalidDocument(item.source, item.line, item.error + CR_ONLY)
            yield item
    except files.DecodeError as exc:
        yield InvalidDocument(source, exc.line, exc.message)


def _size(fh: BinaryIO) -> int:
    try:
        return os.fstat(fh.fileno()).st_size
    except OSError:  # bytes in memory (io.UnsupportedOperation): read as they come
        return 0


def _walk(source: str, cur: Cursor) -> Iterator[Item]:
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
            except Refused as refused:  # a top-level NaN: no record, and nothing after it
                yield InvalidDocument(source, refused.line, refused.message)
                return
            except TooBig as big:
                yield InvalidDocument(source, big.line, big.message("the JSON document"))
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
    except Stop as stop:
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
        value = DECODER.decode(line)
    except DuplicateKey as dup:
        found = duplicate_key_at(line, 0, len(line))
        column = f"column {found[1] + 1}" if found else "this line"
        return InvalidDocument(
            source, line_no, duplicate_message(found[0] if found else dup.key, f"at {column}")
        )
    except json.JSONDecodeError as exc:
        return InvalidDocument(
            source,
            line_no,
            f"invalid JSON on this line: {exc.msg} (column {exc.colno})"
            + trailing_comma_hint(exc.doc, exc.pos),
        )
    except (NotJson, ValueError):  # NaN, Infinity, int()'s digit limit
        found = not_json_at(line, 0, len(line))
        column = f"at column {found[1] + 1}" if found else "on this line"
        return InvalidDocument(
            source, line_no, not_json_message(found[0] if found else None, column)
        )
    except RecursionError:  # past ~970 levels; within them, to_document's walk decides
        return InvalidDocument(source, line_no, too_deep_message("the JSONL line"))
    return to_document(
        source,
        line_no,
        value,
        what="the JSONL line",
        is_text=json_text_is_text(line),
        shallow=text_is_shallow(line),
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
