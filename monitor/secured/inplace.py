"""`sign --in-place`: sign the records of one file and replace it safely.

The text surgery is `edit`'s; this module owns the file I/O around it. A
file is replaced through a temporary file in its folder and a rename, so a
reader sees the old or the new content, never half of one; the new file
keeps the old one's owner, group and mode. What a rename cannot keep is
refused, file by file, with the reason (the other files are still signed):

- a symbolic link: its target is not rewritten through it (sign the target
  by its own path);
- a read-only file (no write bit, or not writable by this user), and a file
  with several hard links (the rename would split this name from the
  others): only with `force`, and said on stderr;
- a file whose owner or group cannot be given back (not root, and not its
  owner): only with `force`, and said on stderr;
- a folder in which no temporary file can be made;
- a file that changed while it was being signed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

from monitor.corpus import (
    CR_ONLY,
    files,
    json_stream,
    jsonl_item,
    parse_bytes,
    parse_stream,
    parse_text,
    text_survey,
)
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import (
    LINE_SUFFIXES,
    YAML_SUFFIXES,
    DecodeError,
    NotRegularFile,
    open_regular,
    os_reason,
    read_whole,
)
from monitor.corpus.json_window import DECODER, DuplicateKey, NotJson, TooBig
from monitor.corpus.nesting import text_is_shallow
from monitor.corpus.records import json_text_is_text, to_document
from monitor.secured import json_tap
from monitor.secured.edit import (
    BOM,
    EditError,
    element_edit,
    rewrite_front_matter,
    rewrite_json,
    rewrite_jsonl,
    rewrite_yaml_documents,
)
from monitor.whole_write import write_all


class Signable(Protocol):
    """What signing needs of a record (a Document, or a Record held for a rewrite)."""

    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def raw(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A valid record of the file being rewritten, without its model: the models of
    a 50,000-article file were ~2.4 KB a record of the ~4 KB each one held."""

    source: str
    line: int
    raw: dict[str, Any]


# Gets one record; returns its new `secured` value, or None when it cannot be signed.
SignOne = Callable[[Signable], str | None]
UNCHANGED: Final = "left unchanged"


@dataclass(slots=True)
class FileResult:
    """What happened to one file: records signed, refusals (failures), notes (not failures)."""

    signed: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    invalid: list[InvalidDocument] = field(default_factory=list)
    folder: Path | None = None  # replaced a file here: sync it (`sync_folders`)
    # said at once instead of kept in `invalid`, where a `.json` list is streamed: all of
    # them kept, a 10 MB list of 5,000,000 bad elements peaked at 1 GB (`check`: 45 MB)
    report: Callable[[InvalidDocument], object] | None = None

    def found(self, item: InvalidDocument) -> None:
        if self.report is None:
            self.invalid.append(item)
        else:
            self.report(item)


class _Refused(Exception):
    """The file is left as it was; the message says why and what to do."""


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[os.stat_result, BinaryIO]]:
    """The file open for reading, by the corpus reader's rules (no FIFO), and its status.
    An OSError of the body is "cannot read it": the body raises what it writes as _Refused."""
    try:
        link = os.lstat(path)
    except OSError as exc:
        raise _Refused(f"cannot read it: {os_reason(exc)}") from None
    if stat.S_ISLNK(link.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise _Refused(
            f"is a symbolic link (to {target}), not rewritten through the link; "
            "sign the file it points to by its own path"
        )
    # A symlink swapped in after the lstat is caught before the rename: the
    # file then no longer matches the status read here (`_same_file`).
    try:
        with open_regular(path) as (st, fh):
            yield st, fh
    except NotRegularFile as exc:
        raise _Refused(exc.strerror or "not a regular file") from None
    except OSError as exc:
        raise _Refused(f"cannot read it: {os_reason(exc)}") from None


def _read(path: Path) -> tuple[os.stat_result, bytes]:
    """The file's status and bytes, read by the corpus reader's rules (no FIFO, size caps)."""
    with _opened(path) as (st, fh):
        if st.st_size > files.MAX_FILE_BYTES:  # read up to the cap first: 570 MB for nothing
            raise _Refused(files.over_limit(path.suffix).message)
        try:
            return st, read_whole(fh, path.suffix)
        except DecodeError as exc:
            raise _Refused(exc.message) from None


def _write_refusals(path: Path, st: os.stat_result) -> list[tuple[str, str]]:
    """(refusal, note under --force) for what a rename would break or override."""
    found = []
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o222 or not os.access(path, os.W_OK, follow_symlinks=False):
        found.append(
            (
                f"is read-only (mode {mode:04o}); pass --force to rewrite it anyway",
                f"was read-only (mode {mode:04o}); rewritten because of --force, mode kept",
            )
        )
    if st.st_nlink > 1:
        found.append(
            (
                f"has {st.st_nlink} hard links, and rewriting it would split this name from "
                "the others (they would keep the unsigned content); pass --force to rewrite "
                "this name only",
                f"had {st.st_nlink} hard links; because of --force this name is now a separate "
                "file, and the other names keep the unsigned content",
            )
        )
    return found


def _copy_xattrs(path: Path, fd: int, notes: list[str]) -> None:
    """Extended attributes (POSIX ACLs, SELinux labels, user.*) onto the new file; best effort."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return  # not supported here: nothing to keep
    lost = []
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(path, name, follow_symlinks=False))
        except OSError:
            lost.append(name)
    if lost:
        notes.append(f"{path}: extended attributes not kept: {', '.join(sorted(lost))}")


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """The file as it was read. Its change time too: a save with its time put back (a
    sync tool, `cp -p`) of bytes read already was overwritten by their signed old text."""
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


def sync_folders(folders: Iterable[Path]) -> None:
    """Make the renames durable: one fsync per folder, once every file in it is replaced."""
    for folder in folders:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# A file made with no name, named once written (`_named`): a `.json` list is written as
# it is read (30 s for 194 MB), and a process killed meanwhile left a `.signing` file
# as large as the list beside it. Linux only (a name is given through /proc).
_UNNAMED: Final = getattr(os, "O_TMPFILE", 0) if os.path.isdir("/proc/self/fd") else 0


def _temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path` for its new content: its descriptor, and its name ("":
    none yet, see `_UNNAMED`)."""
    if _UNNAMED:
        with contextlib.suppress(OSError):  # not on this file system: a named one says why
            return os.open(path.parent, _UNNAMED | os.O_WRONLY | os.O_CLOEXEC, 0o600), ""
    try:
        return tempfile.mkstemp(prefix=f".{_short(path.name)}.", suffix=".signing", dir=path.parent)
    except OSError as exc:
        raise _Refused(f"cannot write in its folder {path.parent}: {os_reason(exc)}") from None


def _drop(new: tuple[int, str]) -> None:
    """A temporary file of `_temporary` (descriptor, name) closed and gone."""
    fd, tmp = new
    with contextlib.suppress(OSError):
        os.close(fd)
    if tmp:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _named(fd: int, path: Path) -> str:
    """A name beside `path` for the unnamed file `fd`, to be renamed over `path`."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            name = f".{_short(path.name)}.{secrets.token_hex(4)}.signing"
            try:  # a folder's descriptor: linkat(AT_SYMLINK_FOLLOW), not link(), which
                # would link /proc's symbolic link itself (EXDEV)
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder)
            except FileExistsError:
                continue
            return str(path.parent / name)
    finally:
        os.close(folder)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _replace(
    path: Path, st: os.stat_result, data: bytes | memoryview, force: bool, notes: list[str]
) -> None:
    """Write `data` to a temporary file beside `path`, with its owner and mode, then rename."""
    fd, tmp = _temporary(path)
    _install(
        path, st, (fd, tmp), force, notes, lambda: write_all(lambda v: os.write(fd, v), data, fd)
    )


def _install(
    path: Path,
    st: os.stat_result,
    new: tuple[int, str],
    force: bool,
    notes: list[str],
    write: Callable[[], object] = lambda: None,
) -> None:
    """The temporary file `new` (descriptor, name; closed here), its content written by
    `write`, given `path`'s owner and mode, then renamed over it (removed if not)."""
    fd, tmp = new
    done = False
    try:
        try:
            write()
            mine = os.fstat(fd)
            if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:
                    owner = f"{st.st_uid}:{st.st_gid}"
                    if not force:
                        raise _Refused(
                            f"cannot keep its owner and group {owner} (only root or its owner "
                            "can); run as them, or pass --force to let the new file be yours"
                        ) from None
                    notes.append(
                        f"{path}: its owner and group {owner} could not be kept; because of "
                        f"--force it now belongs to {mine.st_uid}:{mine.st_gid}"
                    )
            os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which may clear set-id bits
            _copy_xattrs(path, fd, notes)  # ACLs and labels live there
            os.fsync(fd)
            tmp = tmp or _named(fd, path)
        finally:
            os.close(fd)
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            raise _Refused("was removed while it was being signed") from None
        if not _same_file(now, st):
            raise _Refused("changed while it was being signed; run sign again")
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise _Refused(_write_failure(path, exc)) from None
    finally:
        if not done and tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_failure(path: Path, exc: OSError) -> str:
    where = path.parent if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else path
    return f"cannot replace it in {where}: {os_reason(exc)}"


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


CHANGES_MORE = "the rewrite would change more than `secured` (unusual YAML or JSON layout?)"


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


def rewrite_file(
    path: Path,
    sign_one: SignOne,
    *,
    force: bool = False,
    report: Callable[[InvalidDocument], object] | None = None,
) -> FileResult:
    """Read one corpus file, sign its valid records and replace it (see the module doc).

    The records are parsed from the very bytes that are rewritten, so what is
    signed is what was read; the file's invalid documents come back in
    `invalid`, as the corpus reader words them (those of a streamed `.json`
    file go to `report` as they are read, if given).
    """
    result = FileResult(report=report)
    try:
        _rewrite(path, sign_one, force, result)
    except _Refused as refused:
        result.signed = 0
        result.folder = None
        result.errors.append(f"{path}: {refused}; {UNCHANGED}")
    return result


def _rewrite(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> None:
    source = str(path)
    suffix = path.suffix.lower()
    if suffix == ".json" and _rewrite_json_stream(path, sign_one, force, result):
        return
    if suffix in LINE_SUFFIXES and _rewrite_lines_stream(path, sign_one, force, result):
        return
    st, data = _read(path)
    try:
        if b"\0" in data:  # binary data to the corpus reader: refused whole, as there
            raise UnicodeError
        text = data.decode("utf-8")
    except UnicodeError:
        result.invalid = [
            i for i in parse_bytes(source, data, suffix) if isinstance(i, InvalidDocument)
        ]
        if not result.invalid:
            raise _Refused("is not UTF-8 text") from None
        if len(result.invalid) < sum(1 for _ in parse_bytes(source, data, suffix)):
            result.notes.append(
                f"{path}: its valid records are not signed either: a file is rewritten "
                f"only when all of it is UTF-8; {UNCHANGED}"
            )
        return
    del data  # the text stands for it from here on
    if suffix in LINE_SUFFIXES:  # the survey found it was not UTF-8 text: it is now
        raise _Refused(_CHANGED_SIGNING)
    items: list[Record | InvalidDocument] = [
        Record(i.source, i.line, i.raw) if isinstance(i, Document) else i
        for i in _iter_records(source, text, suffix)
    ]  # each model dropped as it is read
    result.invalid = [item for item in items if isinstance(item, InvalidDocument)]
    if len(result.invalid) == len(items):
        return  # nothing to sign
    for refusal, note in _write_refusals(path, st):
        if not force:
            raise _Refused(refusal)
        result.notes.append(f"{path}: {note}")

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
        raise _Refused(f"cannot rewrite: {exc}") from None
    if not signed:
        return
    changed = _same_records(items, _iter_records(source, new_text, suffix), signed)
    if changed is not None:
        raise _Refused(changed)
    if new_text != text:
        _replace(path, st, new_text.encode("utf-8"), force, result.notes)
        result.folder = path.parent
    result.signed = len(signed)


_JSON_WRITE, _JSON_EDIT, _JSON_CHANGED, _JSON_READ_BACK, _JSON_FOLDER = range(5)


class _JsonRun:
    """One `.json` list signed as it is streamed (`_rewrite_json_stream`): the records as
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
            _drop(self.new)
            self.new = None

    def _write(self, text: str) -> None:
        if self.new is None:
            return
        fd = self.new[0]
        try:
            write_all(lambda view: os.write(fd, view), text.encode("utf-8"), fd)
        except OSError as exc:
            self.refuse(_JSON_FOLDER, _write_failure(self.path, exc))

    def start(self, boms: int) -> None:
        try:
            self.new = _temporary(self.path)
        except _Refused as refused:  # said only if an article is signed, as before
            self.refusals[_JSON_FOLDER] = str(refused)
            return
        self._write(BOM * boms)

    def record(self, doc: Document, element: tuple[int, str]) -> None:
        """One list element read as a valid record: signed, edited, read back."""
        if not self.met:
            self.met = True
            for refusal, note in _write_refusals(self.path, self.st):
                if not self.force:
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
        `_same_records` reads the whole new file); else why not."""
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


def _rewrite_json_stream(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> bool:
    """A `.json` list (top-level, or a wrapper's `news`/`articles`) signed in one pass,
    read as `check` reads it and written through the temporary file as it is read
    (monitor.secured.json_tap): the whole-file way held ~11x the file (a 19.6 MB list
    peaked at 228 MB, and the reader takes 512 MiB). A top-level object is walked once
    before, unsigned: the whole-file way read all of it (and refused a syntax error in
    it) before it signed a record. False: read it the whole-file way (a file over the
    size cap, or one article object), nothing said yet."""
    with _opened(path) as (st, fh):
        if st.st_size > files.MAX_FILE_BYTES:
            return False  # refused by its size by `_read`, as before
        if _opens_object(fh):
            probed = _probe_object(str(path), fh)
            if probed is None:
                return False
            met, failure = probed
            if failure is not None:  # the whole-file rewrite read the object first
                _report_invalid(str(path), fh, result)
                if met:
                    _check_writable(path, st, force, result.notes)
                    raise _Refused(f"cannot rewrite: {failure}")
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
                raise _Refused("changed while it was being signed; run sign again")
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
                raise _Refused("changed while it was being signed; run sign again")
            result.found(item)


def _check_writable(path: Path, st: os.stat_result, force: bool, notes: list[str]) -> None:
    """_Refused for what a rename would break or override; with `force`, notes."""
    for refusal, note in _write_refusals(path, st):
        if not force:
            raise _Refused(refusal)
        notes.append(f"{path}: {note}")


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
                run.refuse(_JSON_CHANGED, "changed while it was being signed; run sign again")
            else:
                result.found(item)
            continue
        element = cur.element()
        if element is None:  # the top-level object is the article: read whole (16 MiB cap)
            assert not run.met
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
            raise _Refused(refusals[_JSON_CHANGED])
        return
    for rank in (_JSON_WRITE, _JSON_EDIT, _JSON_CHANGED):
        if rank in refusals:
            raise _Refused(refusals[rank])
    if not run.signed:
        return
    if _JSON_READ_BACK in refusals:
        why = refusals[_JSON_READ_BACK]
        try:
            if run.invalid_after and run.splice.cr_only():  # as the reader words it there
                why += CR_ONLY
        except DecodeError:  # the bytes after the walk's end changed (it read to there)
            raise _Refused("changed while it was being signed; run sign again") from None
        raise _Refused(why)
    if not run.changed:
        result.signed = run.signed
        return
    try:
        run.splice.finish()
    except DecodeError:  # its bytes changed after the walk's end
        raise _Refused("changed while it was being signed; run sign again") from None
    if _JSON_FOLDER in refusals:
        raise _Refused(refusals[_JSON_FOLDER])
    assert run.new is not None
    new, run.new = run.new, None
    _install(run.path, run.st, new, run.force, result.notes)
    result.folder = run.path.parent
    result.signed = run.signed


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


_CHANGED_SIGNING: Final = "changed while it was being signed; run sign again"
_OUT_BUFFER: Final = 1 << 20  # bytes of new lines gathered for one write(2)


class _Changed(Exception):
    """The second pass met bytes the survey did not read: the file changed in between."""


def _rewrite_lines_stream(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> bool:
    """JSON Lines signed a line at a time, read twice and written as they are read: the
    bytes surveyed first (UTF-8, no NUL, the size cap: refused whole, as before), then
    each line read as `parse_stream` reads it, signed, read back and written to the
    temporary file. The whole text and the new one were held: a 16.6 MB file of 50,000
    articles peaked at 128 MiB (the reader takes 512 MiB). False: read it whole (over
    the size cap, or not UTF-8 text: its invalid documents are named so), nothing said."""
    with _opened(path) as (st, fh):
        if st.st_size > files.MAX_FILE_BYTES:
            return False
        try:
            surveyed = text_survey.survey(fh, json_stream.CHUNK, path.suffix)
        except DecodeError as exc:
            if exc.message == files.over_limit(path.suffix).message:  # it grew: refused whole
                return False
            fh.seek(0)
            _lines_not_text(path, fh, result)
            return True
        fh.seek(0)
        run = _LinesRun(path, st, sign_one, force, result)
        try:
            run.start()
            run.read(_raw_lines(fh, surveyed, run.copy))
            run.finish()
        finally:
            run.discard()
    return True


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
        raise _Refused("is not UTF-8 text")
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
    """One JSON Lines file signed as it is read (`_rewrite_lines_stream`): each line as
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
            self.new = _temporary(self.path)
        except _Refused as refused:
            self.unwritable = str(refused)

    def discard(self) -> None:
        self.out = bytearray()
        if self.new is not None:
            _drop(self.new)
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
        except OSError as exc:  # said as `_install` says it, if the file is to be replaced
            self.unwritable = _write_failure(self.path, exc)
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
                self.refuse(_CHANGED_SIGNING)

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
            for refusal, note in _write_refusals(self.path, self.st):
                if not self.force:
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
            raise _Refused(self.refused)
        if not self.signed:
            return
        if self.changed:
            self.flush()
            if self.unwritable is not None:
                raise _Refused(self.unwritable)
            assert self.new is not None
            new, self.new = self.new, None
            _install(self.path, self.st, new, self.force, self.result.notes)
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


def _iter_records(source: str, text: str, suffix: str) -> Iterator[Document | InvalidDocument]:
    """The records of `text` (the file's bytes decoded, its BOM kept for the rewrite) as
    the corpus reader reads them: it drops the BOM bytes, then parse_text a BOM char
    (two in all; with one dropped here, a second BOM moved the lines of its records)."""
    return parse_text(source, text.removeprefix("\ufeff"), suffix)


def _short(name: str) -> str:
    """A name cut to 64 bytes, for a temporary name that stays under NAME_MAX."""
    return name.encode("utf-8", "surrogateescape")[:64].decode("utf-8", "ignore")
