"""A `.json` list signed as it is streamed (`json_tap` taps the reader's walk): read
whole, a list held ~11x its size."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from monitor.corpus import CR_ONLY, files, json_stream, text_survey
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import DecodeError
from monitor.corpus.json_window import DECODER, DuplicateKey, NotJson, TooBig
from monitor.corpus.nesting import text_is_shallow
from monitor.corpus.records import json_text_is_text, to_document
from monitor.secured.edit import BOM, EditError, element_edit
from monitor.secured.inplace import json_tap
from monitor.secured.inplace.files import (
    check_writable,
    drop,
    install,
    opened,
    temporary,
    write_failure,
    write_refusals,
)
from monitor.secured.inplace.record import SignOne
from monitor.secured.inplace.result import (
    BUG,
    CHANGED_SIGNING,
    CHANGES_MORE,
    FileResult,
    Refused,
)
from monitor.whole_write import write_all

_JSON_WRITE, _JSON_EDIT, _JSON_CHANGED, _JSON_READ_BACK, _JSON_FOLDER = range(5)


class _JsonRun:
    """One `.json` list signed as it is streamed (`rewrite_json_stream`): the records as
    the walk yields them, the new file as the splice writes it, and the refusals found,
    ranked in the order the whole-file path meets them (the first is said)."""

    def __init__(
        self, path: Path, st: os.stat_result, sign_one: SignOne, force: bool, notes: list[str]
    ) -> None:
        self.path, self.st, self.sign_one, self.force = path, st, sign_one, force
        self.notes = notes
        self.refusals: dict[int, str] = {}
        self.new: tuple[int, str] | None = None  # the temporary file, while it is written
        self.met = False  # a record was read: the file is one to rewrite
        self.signed = 0
        self.changed = False
        self.lines_added = 0  # by the edits so far: the lines of the new file's records
        self.list_no = 0
        self.index = -1  # of the element just read, in its list
        self.splice = json_tap.Splice(self._write)
        self.invalid_after = False  # the read-back refusal: a record signed would be invalid

    def refuse(self, rank: int, why: str) -> None:
        self.refusals.setdefault(rank, why)
        self.discard()  # the file stays as it is: nothing more to write

    def discard(self) -> None:
        if self.new is not None:
            drop(self.new)
            self.new = None

    def _write(self, text: str) -> None:
        if self.new is None:
            return
        fd = self.new[0]
        try:
            write_all(lambda view: os.write(fd, view), text.encode("utf-8"), fd)
        except OSError as exc:
            self.refuse(_JSON_FOLDER, write_failure(self.path, exc))

    def start(self, boms: int) -> None:
        try:
            self.new = temporary(self.path)
        except Refused as refused:  # said only if an article is signed, as before
            self.refusals[_JSON_FOLDER] = str(refused)
            return
        self._write(BOM * boms)

    def record(self, doc: Document, element: tuple[int, str]) -> None:
        """One list element read as a valid record: signed, edited, read back."""
        if not self.met:
            self.met = True
            for refusal, note in write_refusals(self.path, self.st):
                if not self.force or note is None:
                    self.refuse(_JSON_WRITE, refusal)
                    return
                self.notes.append(f"{self.path}: {note}")
        if _JSON_WRITE in self.refusals or _JSON_EDIT in self.refusals:
            return  # the whole-file path signed no more than this
        value = self.sign_one(doc)
        if value is None:
            return
        self.signed += 1
        start, text = element
        try:
            at, end, replacement = element_edit(text, value)
        except EditError as exc:
            self.refuse(_JSON_EDIT, f"cannot rewrite: {exc}")
            return
        new = text[:at] + replacement + text[end:]
        line = doc.line + self.lines_added
        self.lines_added += replacement.count("\n") - text.count("\n", at, end)
        why = self._read_back(doc, new, value, line)
        if why is not None:
            self.refuse(_JSON_READ_BACK, why)
            return
        self.changed = self.changed or replacement != text[at:end]
        self.splice.edits.append((start + at, start + end, replacement))

    def _read_back(self, doc: Document, new: str, value: str, line: int) -> str | None:
        """None if the element, signed, reads as it did with only `secured` changed (as
        `whole._same_records` reads the whole new file); else why not."""
        cur = self.splice.cursor
        assert cur is not None
        what = f"{cur.label} element {self.index}"
        if len(new) > cur.cap:
            error: str | None = TooBig(line, len(new), cur.cap).message(what)
        else:
            try:
                parsed = DECODER.decode(new)
            except (ValueError, RecursionError, DuplicateKey, NotJson):
                return CHANGES_MORE
            again = to_document(
                doc.source,
                line,
                parsed,
                what=what,
                is_text=json_text_is_text(new),
                shallow=text_is_shallow(new),
            )
            if isinstance(again, Document):
                return None if again.raw == {**doc.raw, "secured": value} else CHANGES_MORE
            error = again.error
        if _JSON_READ_BACK not in self.refusals:
            self.invalid_after = True
        return f"signed, the record of line {doc.line} would be invalid: {error}"


def _leading_boms(fh: BinaryIO) -> int:
    """How many byte-order marks start the file (up to two, as the reader drops them)."""
    head = fh.read(2 * len(files.BOM))
    fh.seek(0)
    return 2 if head == files.BOM * 2 else int(head.startswith(files.BOM))


def rewrite_json_stream(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> bool:
    """A `.json` list (top-level, or a wrapper's `news`/`articles`) signed in one pass,
    read as `check` reads it and written through the temporary file as it is read
    (`json_tap`): the whole-file way held ~11x the file (a 19.6 MB list
    peaked at 228 MB, and the reader takes 512 MiB). A top-level object is walked once
    before, unsigned: the whole-file way read all of it (and refused a syntax error in
    it) before it signed a record. False: read it the whole-file way (a file over the
    size cap, or one article object), nothing said yet."""
    with opened(path) as (st, fh):
        if st.st_size > files.MAX_FILE_BYTES:
            return False  # refused by its size by `files.read`, as before
        if _opens_object(fh):
            probed = _probe_object(str(path), fh)
            if probed is None:
                return False
            met, failure = probed
            if failure is not None:  # the whole-file rewrite read the object first
                _report_invalid(str(path), fh, result)
                if met:
                    check_writable(path, st, force, result.notes)
                    raise Refused(f"cannot rewrite: {failure}")
                return True
        run = _JsonRun(path, st, sign_one, force, result.notes)
        try:
            if not _stream_records(str(path), fh, run, result):
                run.discard()
                result.invalid.clear()
                return False
            _finish_json(run, result)
        finally:
            run.discard()
    return True


def _read_json(
    source: str, fh: BinaryIO, splice: json_tap.Splice
) -> Iterator[Document | InvalidDocument]:
    """The records as `check` reads them (its chunk and cap, read when called), tapped."""
    return json_stream.read_json_stream(
        source, fh, chunk=json_stream.CHUNK, cap=files.MAX_YAML_BYTES, cursor=splice.cursor_for
    )


def _opens_object(fh: BinaryIO) -> bool:
    """Whether the file's top-level value may be an object (blank for its first 64 KiB too)."""
    head = fh.read(1 << 16)
    fh.seek(0)
    return head.lstrip(b" \t\r\n" + files.BOM)[:1] in (b"{", b"")


def _probe_object(source: str, fh: BinaryIO) -> tuple[bool, str | None] | None:
    """A `.json` file whose top-level value is an object, read once without signing:
    None if it is one article (read whole); else whether a list of it holds a record,
    and what the whole-file rewrite said of a syntax error in it (it read the whole
    object before it signed any record). Not text: (False, None), for the walk to say."""
    splice = json_tap.Splice(lambda _text: None)
    met = False
    for item in _read_json(source, fh, splice):
        cur = splice.cursor
        if cur is None:
            break
        if isinstance(item, InvalidDocument):
            if item.line is None and item.error.startswith(text_survey.CHANGED):
                raise Refused(CHANGED_SIGNING)
        elif cur.element() is None:
            return None
        else:
            met = True
    fh.seek(0)
    cur = splice.cursor
    return met, None if cur is None or cur.failed_at is None else cur.failure


def _report_invalid(source: str, fh: BinaryIO, result: FileResult) -> None:
    """The invalid documents of a file that is not signed, read again (kept by the first
    read, a list of a million bad elements held 240 MB, twice)."""
    for item in _read_json(source, fh, json_tap.Splice(lambda _text: None)):
        if isinstance(item, InvalidDocument):
            if item.line is None and item.error.startswith(text_survey.CHANGED):
                raise Refused(CHANGED_SIGNING)
            result.found(item)


def _stream_records(source: str, fh: BinaryIO, run: _JsonRun, result: FileResult) -> bool:
    """Every record of the file through `run`; False if the whole-file way must read it."""
    run.start(_leading_boms(fh))
    splice = run.splice
    for item in _read_json(source, fh, splice):
        cur = splice.cursor
        if cur is None:  # not text, refused before the walk: said as `check` says it
            assert isinstance(item, InvalidDocument)
            if item.error == files.over_limit(".json").message:  # it grew: refused whole
                return False
            result.found(item)  # read whole, a 97 MB list with one bad byte took 332 MB
            return True
        if cur.lists != run.list_no:
            run.list_no, run.index = cur.lists, 0
        else:
            run.index += 1
        if isinstance(item, InvalidDocument):
            if item.line is None and item.error.startswith(text_survey.CHANGED):
                run.refuse(_JSON_CHANGED, CHANGED_SIGNING)
            else:
                result.found(item)
            continue
        element = cur.element()
        if element is None:  # the top-level object is the article: read whole (16 MiB cap)
            if run.met:  # its records half signed: never read twice
                raise Refused(f"cannot rewrite: an article object came after list elements ({BUG})")
            return False
        run.record(item, element)
    cur = splice.cursor
    if cur is None:
        return False
    if cur.failed_at is not None and run.met:  # a syntax error: the whole-file way refused
        run.refuse(_JSON_EDIT, f"cannot rewrite: {cur.failure}")
    return True


def _finish_json(run: _JsonRun, result: FileResult) -> None:
    """The file replaced by the new one, or refused, as the whole-file path decides."""
    refusals = run.refusals
    if not run.met:  # nothing to sign; a torn read is said, as `check` says it
        if _JSON_CHANGED in refusals:
            raise Refused(refusals[_JSON_CHANGED])
        return
    for rank in (_JSON_WRITE, _JSON_EDIT, _JSON_CHANGED):
        if rank in refusals:
            raise Refused(refusals[rank])
    if not run.signed:
        return
    if _JSON_READ_BACK in refusals:
        why = refusals[_JSON_READ_BACK]
        try:
            if run.invalid_after and run.splice.cr_only():  # as the reader words it there
                why += CR_ONLY
        except DecodeError:  # the bytes after the walk's end changed (it read to there)
            raise Refused(CHANGED_SIGNING) from None
        raise Refused(why)
    if not run.changed:
        result.signed = run.signed
        return
    try:
        run.splice.finish()
    except DecodeError:  # its bytes changed after the walk's end
        raise Refused(CHANGED_SIGNING) from None
    if _JSON_FOLDER in refusals:
        raise Refused(refusals[_JSON_FOLDER])
    assert run.new is not None
    new, run.new = run.new, None
    install(run.path, run.st, new, run.force, result.notes)
    result.folder = run.path.parent
    result.signed = run.signed
