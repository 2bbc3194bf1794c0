"""Rewrite only the `secured` value of a document's text (`sign --in-place`).

Pure text surgery, so every other byte of the file stays as the author wrote
it: front matter gets its top-level `secured:` line replaced (or one inserted
before the closing `---`), as does each document of a `.yaml` stream; JSON
and JSONL get only the value of the article object's `secured` member
replaced (or the member appended to the object).
Which objects are articles follows the corpus rules: a top-level object, the
elements of a top-level list, or the elements of a top-level `news` /
`articles` list; in JSONL, each line.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from monitor.corpus.json_window import DECODER, DuplicateKey, NotJson, Span
from monitor.corpus.line_runs import PLAIN_LINES

WRAPPER_KEYS: Final = ("news", "articles")
_OPEN: Final = re.compile(r"---[ \t]*\r?(?:\n|$)")
_CLOSE: Final = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_SECURED_LINE: Final = re.compile(r"""^(?:secured|"secured"|'secured')[ \t]*:(?:[ \t]|$)""")
# a document whose first content is `{`: a `secured:` line after it would break it
_FLOW_START: Final = re.compile(r"[ \t]*\{")
_WS: Final = re.compile(r"[ \t\n\r]*")
# only where a value ends: an integer read as the count of its digits has no
# digit limit (int() raised a bare ValueError past 4,300 digits: a traceback)
_DECODER: Final = json.JSONDecoder(parse_int=len)
_scanstring: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]
BOM: Final = "\ufeff"


def split_bom(text: str) -> tuple[str, str]:
    """(its BOMs, the rest): up to two, as the corpus reader drops them (the file's
    bytes, then its text's); with one kept in the body, a front matter was not found."""
    body = text.removeprefix(BOM).removeprefix(BOM)
    return text[: len(text) - len(body)], body


# Gets each article object as parsed; returns its new `secured` value, or None to leave it.
Signer = Callable[[Any], str | None]


class EditError(ValueError):
    """The text cannot be rewritten safely; the file is left alone."""


def yaml_line(value: str) -> str:
    """`secured: "…"`: a JSON string is a valid YAML double-quoted scalar."""
    return f"secured: {json.dumps(value)}"


# ---------------------------------------------------------------- front matter


def _lines(text: str) -> list[str]:
    """Lines with their endings, split on '\\n' only (not on U+2028 and friends)."""
    parts = text.split("\n")
    out = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _newline(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def _secured_block(lines: list[str]) -> tuple[int, int] | None:
    """[first, last) line indices of the last top-level `secured:` entry, continuation included."""
    found = None
    for i, line in enumerate(lines):
        if _SECURED_LINE.match(line):
            end = i + 1
            j = i + 1
            while j < len(lines):
                current = lines[j]
                if current[:1] in (" ", "\t"):
                    if current.strip():
                        end = j + 1
                elif current.strip("\r\n"):
                    break
                j += 1
            found = (i, end)
    return found


def rewrite_yaml_region(region: str, value: str, newline: str) -> str:
    """A YAML mapping's text with its top-level `secured` entry set to `value`."""
    lines = _lines(region)
    block = _secured_block(lines)
    if block is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines.append(yaml_line(value) + newline)
        return "".join(lines)
    first, end = block
    last = lines[end - 1]
    ending = last[len(last.rstrip("\r\n")) :]
    lines[first:end] = [yaml_line(value) + ending]
    return "".join(lines)


def _flow(text: str, pos: int, endpos: int) -> bool:
    """Whether the YAML in `text[pos:endpos]` is a flow mapping: `{` first after blank
    and comment lines (a run found with no memory a line: `line_runs`)."""
    return _FLOW_START.match(text, PLAIN_LINES.end(text, pos, endpos), endpos) is not None


def rewrite_front_matter(text: str, value: str) -> str:
    """Front matter with a new `secured` (a `.yaml` file, fenced or not, is a stream:
    `rewrite_yaml_documents`)."""
    bom, body = split_bom(text)
    newline = _newline(body)
    opening = _OPEN.match(body)
    closing = _CLOSE.search(body, opening.end()) if opening else None
    if opening and closing:
        region = body[opening.end() : closing.start()]
        if _flow(region, 0, len(region)):
            raise EditError(
                "the front matter is a flow mapping ({…}): write it in block style, "
                "one 'key: value' a line, to sign it in place"
            )
        new = rewrite_yaml_region(region, value, newline)
        return bom + body[: opening.end()] + new + body[closing.start() :]
    raise EditError("no front matter: expected a '---' line, the fields, a closing '---' line")


_START: Final = re.compile(r"^---(?=[ \t\r\n]|$)([^\n]*)(?:\n|$)", re.MULTILINE)
_END: Final = re.compile(r"^\.\.\.[ \t]*(?:#[^\n]*)?\r?(?:\n|$)(?:[ \t]*\r?\n)*\Z", re.MULTILINE)


def rewrite_yaml_documents(text: str, values: dict[int, str]) -> str:
    """A `.yaml` stream with a new `secured` in each document named by a file line of it.

    The documents are cut as the corpus reader cuts them (`iter_yaml_documents`), so
    every one of a multi-document file is signed, not only the first; each
    document's text between its `---` line and its `...` line is rewritten
    as a front matter is.
    """
    from monitor.corpus.frontmatter import iter_yaml_documents

    bom, body = split_bom(text)
    newline = _newline(body)
    spans = itertools.pairwise(itertools.chain(iter_yaml_documents(body), [None]))
    # one pass over both, in line order: searching every value for each document
    # was quadratic (20,000 documents: 16 s of CPU in this matching alone)
    wanted = sorted(values.items())
    at = 0
    out: list[str] = []
    for span, after in spans:
        assert span is not None  # only the last `after` is the end's None
        start, end, line = span
        following = after[2] if after is not None else None
        value = None
        while at < len(wanted) and (following is None or wanted[at][0] < following):
            if value is None and wanted[at][0] >= line:
                value = wanted[at][1]
            at += 1
        region = body[start:end]
        if value is None:
            out.append(region)
            continue
        head = 0
        marker = _START.search(region)  # a document holds one `---` line at most
        if marker is not None:
            rest = marker.group(1).strip(" \t\r")
            if rest and not rest.startswith("#"):
                raise EditError(f"the document of line {line} starts on its '---' line")
            head = marker.end()
        tail = _END.search(region, head)
        stop = tail.start() if tail is not None else len(region)
        if _flow(region, head, stop):
            raise EditError(
                f"the document of line {line} is a flow mapping ({{…}}): write it in block "
                "style, one 'key: value' a line, to sign it in place"
            )
        new = rewrite_yaml_region(region[head:stop], value, newline)
        out.append(region[:head] + new + region[stop:])
    return bom + "".join(out)


# ---------------------------------------------------------------- JSON


@dataclass(slots=True)
class _Member:
    key: str
    value_start: int
    value_end: int


@dataclass(slots=True)
class _Object:
    start: int
    end: int  # just after the closing brace
    members: list[_Member]


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    assert match is not None
    return match.end()


def expected(pos: int, chars: str) -> str:
    """What the rewrite says when none of `chars` is at `pos`."""
    return f"invalid JSON at offset {pos}: expected one of {chars!r}"


def _expect(text: str, pos: int, chars: str) -> str:
    if pos >= len(text) or text[pos] not in chars:
        raise EditError(expected(pos, chars))
    return text[pos]


def _value_end(text: str, pos: int) -> int:
    try:
        return _DECODER.raw_decode(text, pos)[1]
    except json.JSONDecodeError as exc:
        raise EditError(f"invalid JSON at offset {pos}") from exc
    except RecursionError:  # too deep to decode: the reader skips it by its brackets too
        span = Span(text[pos : pos + 1])
        end = span.feed(text, pos + 1)
        if end is None or span.mismatch:
            raise EditError(f"invalid JSON at offset {pos}") from None
        return end


def _scan_object(text: str, pos: int) -> _Object:
    _expect(text, pos, "{")
    members: list[_Member] = []
    i = _skip(text, pos + 1)
    if _expect(text, i, '"}') == "}":
        return _Object(pos, i + 1, members)
    while True:
        _expect(text, i, '"')
        try:
            key, i = _scanstring(text, i + 1)
        except json.JSONDecodeError as exc:
            raise EditError(f"invalid JSON at offset {i}") from exc
        i = _skip(text, i)
        _expect(text, i, ":")
        start = _skip(text, i + 1)
        end = _value_end(text, start)
        members.append(_Member(key, start, end))
        i = _skip(text, end)
        if _expect(text, i, ",}") == "}":
            return _Object(pos, i + 1, members)
        i = _skip(text, i + 1)


def _array_items(text: str, pos: int) -> Iterator[int]:
    """Start offsets of the elements of the array at `pos`."""
    _expect(text, pos, "[")
    i = _skip(text, pos + 1)
    if i < len(text) and text[i] == "]":
        return
    while True:
        yield i
        i = _skip(text, _value_end(text, i))
        if _expect(text, i, ",]") == "]":
            return
        i = _skip(text, i + 1)


def _articles(text: str) -> Iterator[_Object]:
    """The article objects of a `.json` text, in document order."""
    start = _skip(text, 0)
    if start >= len(text):
        return
    if text[start] == "[":
        for item in _array_items(text, start):
            if text[item] == "{":
                yield _scan_object(text, item)
        return
    top = _scan_object(text, start)
    # the lists of a wrapper key's first copy, as the reader reads them: a repeated
    # key's value is no list of records (an article in it took its equal's signature)
    firsts = {m.key: m for m in reversed(top.members)}
    wrappers = [m for m in top.members if firsts[m.key] is m and m.key in WRAPPER_KEYS]
    wrappers = [m for m in wrappers if text[m.value_start] == "["]
    if not wrappers:
        yield top
        return
    for member in wrappers:
        for item in _array_items(text, member.value_start):
            if text[item] == "{":
                yield _scan_object(text, item)


def _edit_object(text: str, obj: _Object, value: str) -> tuple[int, int, str]:
    """(start, end, replacement) that sets `secured` in this object."""
    quoted = json.dumps(value)
    secured = [m for m in obj.members if m.key == "secured"]
    if secured:
        last = secured[-1]  # JSON parsers keep the last duplicate
        return last.value_start, last.value_end, quoted
    close = obj.end - 1
    if not obj.members:
        return obj.start + 1, close, f'"secured": {quoted}'
    last_end = obj.members[-1].value_end
    opening_gap = text[obj.start + 1 : _skip(text, obj.start + 1)]
    if "\n" in opening_gap:
        newline = "\r\n" if "\r\n" in opening_gap else "\n"
        indent = opening_gap.rsplit("\n", 1)[1]
        return last_end, last_end, f',{newline}{indent}"secured": {quoted}'
    return last_end, last_end, f', "secured": {quoted}'


def element_edit(text: str, value: str) -> tuple[int, int, str]:
    """(start, end, replacement) that sets `secured` in the object that is all of
    `text`: one element of a `.json` list, edited as the list is streamed."""
    obj = _scan_object(text, 0)
    if obj.end != len(text):
        raise EditError(f"invalid JSON at offset {obj.end}")
    return _edit_object(text, obj, value)


def list_failure(text: str, pos: int, *, element: bool) -> str | None:
    """What the whole-file rewrite of a `.json` list says when the reading of the list
    stops at `pos` in `text`: at an element (`element`: as it scans one), or where a
    ',' or ']' should follow one; None if it reads on past `pos`."""
    try:
        if element:
            if text[pos : pos + 1] == "{":
                _scan_object(text, pos)
            pos = _skip(text, _value_end(text, pos))
        _expect(text, pos, ",]")
    except EditError as exc:
        return str(exc)
    return None


def _apply(text: str, objects: Iterator[_Object], signer: Signer) -> str:
    edits: list[tuple[int, int, str]] = []
    for obj in objects:
        try:  # as the corpus reader reads it: with a repeated key's last copy winning,
            # an invalid object equal to a valid one took that one's signature
            parsed = DECODER.decode(text[obj.start : obj.end])
        except (ValueError, RecursionError, DuplicateKey, NotJson):  # an invalid record
            continue
        value = signer(parsed)
        if value is not None:
            edits.append(_edit_object(text, obj, value))
    # the new text in one pass: an edit spliced in at a time copied the whole text
    # each time (4,000 articles of 2 KB: 7.6 s; 20,000 ran past 15 minutes)
    pieces: list[str] = []
    at = 0
    for start, end, replacement in sorted(edits):
        pieces += (text[at:start], replacement)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def rewrite_json(text: str, signer: Signer) -> str:
    """A `.json` text with `secured` set in each article object the signer returns a value for."""
    bom, body = split_bom(text)
    return bom + _apply(body, _articles(body), signer)


def rewrite_jsonl(text: str, signer: Signer) -> str:
    """A JSONL text, line by line; lines that are not objects are left alone."""
    bom = BOM if text.startswith(BOM) else ""
    out = []
    for line in _lines(text.removeprefix(BOM)):
        start = _skip(line, 0)
        if start < len(line) and line[start] == "{":
            try:
                objects = iter([_scan_object(line, start)])
                line = _apply(line, objects, signer)
            except EditError:
                pass  # an invalid line: the corpus reports it; leave it as it is
        out.append(line)
    return bom + "".join(out)
