"""JSON Lines signed a line at a time, as they are read: read whole, a file and
its new text were held (a 16.6 MB file peaked at 128 MiB)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from monitor.corpus import files, json_stream, jsonl_item, parse_stream, text_survey
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import DecodeError
from monitor.secured.edit import BOM, EditError, rewrite_jsonl
from monitor.secured.inplace.files import (
    drop,
    install,
    opened,
    temporary,
    write_failure,
    write_refusals,
)
from monitor.secured.inplace.record import SignOne
from monitor.secured.inplace.result import (
    CHANGED_SIGNING,
    CHANGES_MORE,
    UNCHANGED,
    FileResult,
    Refused,
)
from monitor.whole_write import write_all


def _line_item(source: str, number: int, line: str) -> Document | InvalidDocument | None:
    """One line as the corpus reader (`parse_stream`) reads it: over MAX_LINE_BYTES it
    is invalid, its line end goes (`read_lines`), the file's byte-order mark goes with
    line 1, then `jsonl_item` reads it as `check` does. Read with `parse_text`'s rules,
    an article `check` calls invalid was signed, and a line over the cap too."""
    content = line.removesuffix("\n")
    if len(content) > files.MAX_LINE_BYTES // 4 and len(content.encode()) > files.MAX_LINE_BYTES:
        return InvalidDocument(source, number, files.line_over_limit())
    content = content.rstrip("\r")
    if number == 1:
        content = content.removeprefix(BOM)
    return jsonl_item(source, number, content)


_OUT_BUFFER: Final = 1 << 20  # bytes of new lines gathered for one write(2)


class _Changed(Exception):
    """The second pass met bytes the survey did not read: the file changed in between."""


def rewrite_lines_stream(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> None:
    """JSON Lines signed a line at a time, read twice and written as they are read: the
    bytes surveyed first (UTF-8, no NUL: refused whole, as before), then each line read
    as `parse_stream` reads it, signed, read back and written to the temporary file. The
    whole text and the new one were held: a 16.6 MB file of 50,000 articles peaked at
    128 MiB. No size cap, as `check` has none for JSON Lines (held whole, the files
    were refused past 512 MiB). Not UTF-8 text: its invalid documents are named."""
    with opened(path) as (st, fh):
        try:
            surveyed = text_survey.survey(fh, json_stream.CHUNK, path.suffix, capped=False)
        except DecodeError:
            fh.seek(0)
            _lines_not_text(path, fh, result)
            return
        fh.seek(0)
        run = _LinesRun(path, st, sign_one, force, result)
        try:
            run.start()
            run.read(_raw_lines(fh, surveyed, run.copy))
            run.finish()
        finally:
            run.discard()


def _lines_not_text(path: Path, fh: BinaryIO, result: FileResult) -> None:
    """A JSON Lines file that is not all UTF-8 is not signed: its invalid documents said
    as the corpus reader reads them, a line at a time (read whole, an 85 MB file with
    one bad byte at its end peaked at 290 MB)."""
    records = invalid = 0
    for item in parse_stream(str(path), fh, path.suffix):
        records += 1
        if isinstance(item, InvalidDocument):
            invalid += 1
            result.found(item)
    if not invalid:
        raise Refused("is not UTF-8 text")
    if invalid < records:
        result.notes.append(
            f"{path}: its valid records are not signed either: a file is rewritten "
            f"only when all of it is UTF-8; {UNCHANGED}"
        )


def _raw_lines(
    fh: BinaryIO, surveyed: text_survey.Survey, copy: Callable[[bytes], None]
) -> Iterator[tuple[int, str | None]]:
    """(number, line with its '\\n') of the file, split on '\\n' alone as `files.read_lines`
    splits it; None for a line over MAX_LINE_BYTES, its bytes handed to `copy` a piece
    at a time, never held whole. _Changed if the bytes are not those surveyed."""
    size, crc, number = 0, 0, 0

    def read(limit: int) -> bytes:
        nonlocal size, crc
        raw = fh.readline(limit)
        size, crc = size + len(raw), zlib.crc32(raw, crc)
        if size > surveyed.size or b"\0" in raw:
            raise _Changed
        return raw

    while raw := read(files.MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > files.MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                copy(raw)
                raw = read(1 << 20)
            copy(raw)
            yield number, None
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:  # the survey decoded these bytes
            raise _Changed from None
        yield number, line
    if (size, crc) != (surveyed.size, surveyed.crc):
        raise _Changed


class _LinesRun:
    """One JSON Lines file signed as it is read (`rewrite_lines_stream`): each line as
    the whole-text rewrite took it (`_line_item`, `_sign_line`, read back), the new file
    as it is written, and the first refusal met. Once refused, nothing more is signed or
    written, and the rest is read only to name its invalid documents.

    Byte-order marks at the start of a line (files joined with `cat`) stay, and the
    article after them is signed as the reader reads it. A valid article whose line
    cannot be rewritten is named, never passed over."""

    def __init__(
        self, path: Path, st: os.stat_result, sign_one: SignOne, force: bool, result: FileResult
    ) -> None:
        self.path, self.st, self.sign_one, self.force = path, st, sign_one, force
        self.result = result
        self.source = str(path)
        self.new: tuple[int, str] | None = None  # the temporary file, while it is written
        self.out = bytearray()  # the new lines not written yet
        self.unwritable: str | None = None  # said only if the file is to be replaced
        self.refused: str | None = None
        self.met = False  # a record was read: the file is one to rewrite
        self.signed = 0
        self.changed = False

    def start(self) -> None:
        try:
            self.new = temporary(self.path)
        except Refused as refused:
            self.unwritable = str(refused)

    def discard(self) -> None:
        self.out = bytearray()
        if self.new is not None:
            drop(self.new)
            self.new = None

    def refuse(self, why: str) -> None:
        self.refused = why
        self.discard()

    def copy(self, data: bytes) -> None:
        """`data` onto the new file, gathered in `out` (a large piece goes at once)."""
        if self.new is None:
            return
        if len(data) >= _OUT_BUFFER:
            self.flush()
            self._write(data)
            return
        self.out += data
        if len(self.out) >= _OUT_BUFFER:
            self.flush()

    def flush(self) -> None:
        data, self.out = self.out, bytearray()
        if data and self.new is not None:
            self._write(data)

    def _write(self, data: bytes | bytearray) -> None:
        assert self.new is not None
        fd = self.new[0]
        try:
            write_all(lambda view: os.write(fd, view), data, fd)
        except OSError as exc:  # said as `install` says it, if the file is to be replaced
            self.unwritable = write_failure(self.path, exc)
            self.discard()

    def read(self, lines: Iterator[tuple[int, str | None]]) -> None:
        try:
            for number, line in lines:
                if self.refused is None:
                    self._line(number, line)
                else:  # every invalid document is still named, those after this line too
                    self._name_invalid(number, line)
        except _Changed:  # a refusal met before stands: what was read up to it was the file's
            if self.refused is None:
                self.refuse(CHANGED_SIGNING)

    def _name_invalid(self, number: int, line: str | None) -> None:
        item = (
            InvalidDocument(self.source, number, files.line_over_limit())
            if line is None
            else _line_item(self.source, number, line)
        )
        if isinstance(item, InvalidDocument):
            self.result.found(item)

    def _line(self, number: int, line: str | None) -> None:
        """One line read, signed and read back, as the whole-text rewrite took it."""
        item = None if line is None else _line_item(self.source, number, line)
        if line is None or not isinstance(item, Document):
            self._name_invalid(number, line)  # an over-cap line is copied already
            if line is not None:
                self.copy(line.encode())
            return
        if not self.met:  # as the whole-file path: only a file with an article
            self.met = True
            for refusal, note in write_refusals(self.path, self.st):
                if not self.force or note is None:
                    self.refuse(refusal)
                    return
                self.result.notes.append(f"{self.path}: {note}")
        new_line, value, met = _sign_line(line, item, self.sign_one)
        if value is None:
            if not met:  # sign_one, when it was asked, said why itself
                self.result.errors.append(
                    f"{self.source}:{number}: cannot sign: its line cannot be rewritten in "
                    "place (unusual JSON layout?); this article is left unsigned"
                )
            self.copy(line.encode())
            return
        again = _line_item(self.source, number, new_line)
        if isinstance(again, InvalidDocument):  # e.g. signed, over the cap of a line
            self.refuse(f"signed, line {number} would be invalid: {again.error}")
        elif (
            again is None
            or again.raw != {**item.raw, "secured": value}
            or new_line.count("\n") != line.count("\n")
        ):
            self.refuse(CHANGES_MORE)
        else:
            self.copy(new_line.encode())
            self.changed = self.changed or new_line != line
            self.signed += 1

    def finish(self) -> None:
        """The file replaced by the new one, or refused, as the whole-text rewrite decided."""
        if self.refused is not None:
            raise Refused(self.refused)
        if not self.signed:
            return
        if self.changed:
            self.flush()
            if self.unwritable is not None:
                raise Refused(self.unwritable)
            assert self.new is not None
            new, self.new = self.new, None
            install(self.path, self.st, new, self.force, self.result.notes)
            self.result.folder = self.path.parent
        self.result.signed = self.signed


def _sign_line(line: str, item: Document, sign_one: SignOne) -> tuple[str, str | None, bool]:
    """`line` with its article's `secured` set; the value (None: not signed); and
    whether the rewrite met the article (the object the reader read) at all."""
    body = line.lstrip(BOM)  # marks the reader drops, kept in the file
    lead = line[: len(line) - len(body)]
    value: str | None = None
    met = False

    def signer(parsed: Any) -> str | None:
        nonlocal value, met
        if met or parsed != item.raw:
            return None
        met = True
        value = sign_one(item)
        return value

    try:
        new = rewrite_jsonl(body, signer)
    except EditError:
        return line, None, False
    return lead + new, value, met
