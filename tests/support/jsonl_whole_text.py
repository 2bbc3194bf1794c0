"""`sign --in-place` of JSON Lines as it was before it was streamed: the whole text in
one string, the new file in one growing buffer. Kept only as the oracle of the
streamed rewrite's differential test (tests/unit/test_sign_in_place_lines_stream.py)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.inplace import FileResult, SignOne
from monitor.secured.inplace.files import replace, write_refusals
from monitor.secured.inplace.lines_stream import _line_item, _sign_line
from monitor.secured.inplace.result import CHANGES_MORE, UNCHANGED, Refused


def _lines_of(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line with its '\\n') of `text`, split as the corpus reader splits
    JSON Lines (json_stream.split_lines: on '\\n' alone), one at a time: the old
    rewrite's split (the streamed one splits the bytes)."""
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        number += 1
        yield number, text[start:end]
        start = end


def rewrite_lines_whole(path: Path, sign_one: SignOne, *, force: bool = False) -> FileResult:
    """`rewrite_file` of a UTF-8 JSON Lines file the old way (refusals said as it said them)."""
    result = FileResult()
    data = path.read_bytes()
    assert b"\0" not in data
    try:
        _rewrite_lines(path, os.stat(path), data.decode("utf-8"), sign_one, force, result)
    except Refused as refused:
        result.signed = 0
        result.folder = None
        result.errors.append(f"{path}: {refused}; {UNCHANGED}")
    return result


def _rewrite_lines(
    path: Path, st: os.stat_result, text: str, sign_one: SignOne, force: bool, result: FileResult
) -> None:
    source = str(path)
    out = io.BytesIO()
    changed = False
    signed = 0
    checked_refusals = False
    lines = _lines_of(text)
    try:
        for number, line in lines:
            item = _line_item(source, number, line)
            if not isinstance(item, Document):
                if item is not None:
                    result.invalid.append(item)
                out.write(line.encode())
                continue
            if not checked_refusals:  # as the whole-file path: only a file with an article
                checked_refusals = True
                for refusal, note in write_refusals(path, st):
                    if not force:
                        raise Refused(refusal)
                    result.notes.append(f"{path}: {note}")
            new_line, value, met = _sign_line(line, item, sign_one)
            if value is None:
                if not met:  # sign_one, when it was asked, said why itself
                    result.errors.append(
                        f"{source}:{number}: cannot sign: its line cannot be rewritten in "
                        "place (unusual JSON layout?); this article is left unsigned"
                    )
                out.write(line.encode())
                continue
            again = _line_item(source, number, new_line)
            if isinstance(again, InvalidDocument):  # e.g. signed, over the cap of a line
                raise Refused(f"signed, line {number} would be invalid: {again.error}")
            if (
                again is None
                or again.raw != {**item.raw, "secured": value}
                or new_line.count("\n") != line.count("\n")
            ):
                raise Refused(CHANGES_MORE)
            out.write(new_line.encode())
            changed = changed or new_line != line
            signed += 1
    except Refused:  # every invalid document is still named, those after this line too
        result.invalid += [
            i for n, rest in lines if isinstance(i := _line_item(source, n, rest), InvalidDocument)
        ]
        raise
    if not signed:
        return
    if changed:
        replace(path, st, out.getbuffer(), force, result.notes)
        result.folder = path.parent
    result.signed = signed
