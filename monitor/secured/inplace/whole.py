"""The whole-file rewrite: YAML, front matter, a `.json` that is one object (and
what the streams hand back). The text is read whole, edited, and read again to
check that only `secured` changed."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from monitor.corpus import parse_bytes, parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import YAML_SUFFIXES
from monitor.corpus.records import to_document
from monitor.secured.edit import (
    EditError,
    rewrite_front_matter,
    rewrite_json,
    rewrite_yaml_documents,
)
from monitor.secured.inplace.files import check_writable, read, replace
from monitor.secured.inplace.record import Record, SignOne
from monitor.secured.inplace.result import (
    CHANGES_MORE,
    UNCHANGED,
    FileResult,
    Refused,
)


def _url_key(raw: object) -> str | None:
    url = raw.get("webUrl") if isinstance(raw, dict) else None
    return url if isinstance(url, str) else None


class _Pending:
    """The valid records not yet met by the rewrite, found by their webUrl, then by equality.

    The rewrite meets every article object of the file, invalid ones included;
    searching all the unsigned records for each was quadratic in the file's size
    (10,000 valid and 10,000 invalid JSON records: 2.8 s of CPU spent there).
    Equal records have equal webUrls, so a bucket by webUrl holds any match.
    """

    def __init__(self, items: list[Record | InvalidDocument]) -> None:
        self._items = items
        # a webUrl met once (the usual case) maps to its index: a deque each was
        # ~600 bytes a record (30 MB for a 50,000-article file)
        self._by_url: dict[str | None, int | deque[int]] = {}
        by_url = self._by_url
        for index, item in enumerate(items):
            if isinstance(item, Record):
                key = _url_key(item.raw)
                there = by_url.get(key)
                if there is None:
                    by_url[key] = index
                elif isinstance(there, int):
                    by_url[key] = deque((there, index))
                else:
                    there.append(index)

    def take(self, parsed: Any) -> int | None:
        """The first unsigned record equal to `parsed`, now taken; None if there is none."""
        key = _url_key(parsed)
        bucket = self._by_url.get(key)
        if bucket is None:
            return None
        if isinstance(bucket, int):
            doc = self._items[bucket]
            if isinstance(doc, Record) and doc.raw == parsed:
                del self._by_url[key]
                return bucket
            return None
        for position, index in enumerate(bucket):
            doc = self._items[index]
            if isinstance(doc, Record) and doc.raw == parsed:
                del bucket[position]  # O(1) at the head, the usual case
                return index
        return None


def _same_records(
    before: list[Record | InvalidDocument],
    after: Iterable[Document | InvalidDocument],
    signed: dict[int, str],
) -> str | None:
    """None if the rewritten file parses to the same records, with only `secured`
    changed; else why not. `after` is read one record at a time: held as a second
    list beside `before`, the records of a 22 MB JSONL file of 50,000 articles took
    `sign --in-place` to 800 MB."""
    for index, (old, new) in enumerate(zip_longest(before, after)):
        if old is None or new is None:  # one has more records than the other
            return CHANGES_MORE
        if isinstance(old, Record) and isinstance(new, InvalidDocument) and index in signed:
            # e.g. signed, over the cap of one record: named, not blamed on the layout
            return f"signed, the record of line {old.line} would be invalid: {new.error}"
        if isinstance(old, InvalidDocument) or isinstance(new, InvalidDocument):
            if not (isinstance(old, InvalidDocument) and isinstance(new, InvalidDocument)):
                return CHANGES_MORE  # a record that became invalid, or the other way round
            continue
        expected = dict(old.raw)
        if index in signed:
            expected["secured"] = signed[index]
        if new.raw != expected:
            return CHANGES_MORE
    return None


def rewrite_whole(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> None:
    """The file read whole, its records signed, the new text read back, then replaced
    (YAML, front matter, and a `.json` file that is not a list: JSON Lines and `.json`
    lists are streamed)."""
    source = str(path)
    suffix = path.suffix.lower()
    st, data = read(path)
    try:
        if b"\0" in data:  # binary data to the corpus reader: refused whole, as there
            raise UnicodeError
        text = data.decode("utf-8")
    except UnicodeError:
        result.invalid = [
            i for i in parse_bytes(source, data, suffix) if isinstance(i, InvalidDocument)
        ]
        if not result.invalid:
            raise Refused("is not UTF-8 text") from None
        if len(result.invalid) < sum(1 for _ in parse_bytes(source, data, suffix)):
            result.notes.append(
                f"{path}: its valid records are not signed either: a file is rewritten "
                f"only when all of it is UTF-8; {UNCHANGED}"
            )
        return
    del data  # the text stands for it from here on
    items: list[Record | InvalidDocument] = [
        Record(i.source, i.line, i.raw) if isinstance(i, Document) else i
        for i in _iter_records(source, text, suffix)
    ]  # each model dropped as it is read
    result.invalid = [item for item in items if isinstance(item, InvalidDocument)]
    if len(result.invalid) == len(items):
        return  # nothing to sign
    check_writable(path, st, force, result.notes)

    signed: dict[int, str] = {}
    pending = _Pending(items)

    def sign_at(index: int) -> str | None:
        doc = items[index]
        assert isinstance(doc, Record)
        value = sign_one(doc)
        if value is not None:
            signed[index] = value
        return value

    # an object the reader refuses may still equal a valid record in Python (`true == 1`):
    # it took that record's signature. Only a file with invalid records holds one.
    refuses = bool(result.invalid)

    def signer(parsed: Any) -> str | None:
        """JSON's rewrite meets article objects, not records: found again by equality."""
        if refuses and not isinstance(to_document(source, None, parsed), Document):
            return None
        index = pending.take(parsed)
        return None if index is None else sign_at(index)

    try:
        if suffix == ".json":
            new_text = rewrite_json(text, signer)
        else:  # YAML: the records are in hand, each named by its file line
            values = {
                item.line: value
                for index, item in enumerate(items)
                if isinstance(item, Record) and (value := sign_at(index)) is not None
            }
            if not values:
                return
            if suffix in YAML_SUFFIXES:  # a stream: every document is a record
                new_text = rewrite_yaml_documents(text, values)
            else:  # front matter: one record
                new_text = rewrite_front_matter(text, next(iter(values.values())))
    except EditError as exc:
        raise Refused(f"cannot rewrite: {exc}") from None
    if not signed:
        return
    changed = _same_records(items, _iter_records(source, new_text, suffix), signed)
    if changed is not None:
        raise Refused(changed)
    if new_text != text:
        replace(path, st, new_text.encode("utf-8"), force, result.notes)
        result.folder = path.parent
    result.signed = len(signed)


def _iter_records(source: str, text: str, suffix: str) -> Iterator[Document | InvalidDocument]:
    """The records of `text` (the file's bytes decoded, its BOM kept for the rewrite) as
    the corpus reader reads them: it drops the BOM bytes, then parse_text a BOM char
    (two in all; with one dropped here, a second BOM moved the lines of its records)."""
    return parse_text(source, text.removeprefix("\ufeff"), suffix)
