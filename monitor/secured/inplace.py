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
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import LINE_SUFFIXES, MAX_FILE_BYTES
from monitor.secured.edit import EditError, rewrite_front_matter, rewrite_json, rewrite_jsonl

# Gets one record; returns its new `secured` value, or None when it cannot be signed.
SignOne = Callable[[Document], str | None]
UNCHANGED: Final = "left unchanged"
_READ_CHUNK: Final = 1 << 20


@dataclass(slots=True)
class FileResult:
    """What happened to one file: records signed, refusals (failures), notes (not failures)."""

    signed: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Refused(Exception):
    """The file is left as it was; the message says why and what to do."""


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _read(path: Path) -> tuple[os.stat_result, bytes]:
    """The file's status and bytes, read through one descriptor (no symlink, no FIFO)."""
    try:
        link = os.lstat(path)
    except OSError as exc:
        raise _Refused(f"cannot read it: {_reason(exc)}") from None
    if stat.S_ISLNK(link.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise _Refused(
            f"is a symbolic link (to {target}), not rewritten through the link; "
            "sign the file it points to by its own path"
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Refused(f"cannot read it: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Refused("is not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise _Refused(f"is over the {MAX_FILE_BYTES:,}-byte limit for a rewrite in place")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, _READ_CHUNK):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise _Refused("grew past the size limit while it was being read")
            chunks.append(chunk)
    except OSError as exc:
        raise _Refused(f"cannot read it: {_reason(exc)}") from None
    finally:
        os.close(fd)
    return st, b"".join(chunks)


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
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
    )


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace(path: Path, st: os.stat_result, data: bytes, force: bool, notes: list[str]) -> None:
    """Write `data` to a temporary file beside `path`, with its owner and mode, then rename."""
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".signing", dir=folder)
    except OSError as exc:
        raise _Refused(f"cannot write in its folder {folder}: {_reason(exc)}") from None
    done = False
    try:
        try:
            view = memoryview(data)
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
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
        _fsync_dir(folder)
    except OSError as exc:
        where = folder if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else path
        raise _Refused(f"cannot replace it in {where}: {_reason(exc)}") from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _same_records(
    before: list[Document | InvalidDocument],
    after: list[Document | InvalidDocument],
    signed: dict[int, str],
) -> bool:
    """The rewritten file parses to the same records, with only `secured` changed."""
    if len(before) != len(after):
        return False
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if isinstance(old, InvalidDocument) or isinstance(new, InvalidDocument):
            if type(old) is not type(new):
                return False
            continue
        expected = dict(old.raw)
        if index in signed:
            expected["secured"] = signed[index]
        if new.raw != expected:
            return False
    return True


def _raws(items: list[Document | InvalidDocument]) -> list[Any]:
    return [item.raw for item in items if isinstance(item, Document)]


def rewrite_file(
    path: Path,
    items: list[Document | InvalidDocument],
    sign_one: SignOne,
    *,
    force: bool = False,
) -> FileResult:
    """Sign the valid records of one file in place (`items`: as the corpus walk read them)."""
    result = FileResult()
    if not any(isinstance(item, Document) for item in items):
        return result  # nothing to sign; its invalid documents were reported already
    try:
        _rewrite(path, items, sign_one, force, result)
    except _Refused as refused:
        result.signed = 0
        result.errors.append(f"{path}: {refused}; {UNCHANGED}")
    return result


def _rewrite(
    path: Path,
    walked: list[Document | InvalidDocument],
    sign_one: SignOne,
    force: bool,
    result: FileResult,
) -> None:
    source = str(path)
    st, data = _read(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"is not UTF-8 text (byte offset {exc.start})") from None
    suffix = path.suffix.lower()
    items = list(parse_text(source, text, suffix))
    if _raws(items) != _raws(walked):
        raise _Refused("changed since it was first read; run sign again")
    for refusal, note in _write_refusals(path, st):
        if not force:
            raise _Refused(refusal)
        result.notes.append(f"{path}: {note}")

    signed: dict[int, str] = {}
    pending = [i for i, item in enumerate(items) if isinstance(item, Document)]

    def signer(parsed: Any) -> str | None:
        for index in pending:
            doc = items[index]
            assert isinstance(doc, Document)
            if doc.raw == parsed:
                pending.remove(index)
                value = sign_one(doc)
                if value is not None:
                    signed[index] = value
                return value
        return None

    try:
        if suffix == ".json":
            new_text = rewrite_json(text, signer)
        elif suffix in LINE_SUFFIXES:
            new_text = rewrite_jsonl(text, signer)
        else:
            doc = next(d for d in items if isinstance(d, Document))
            value = signer(doc.raw)
            if value is None:
                return
            new_text = rewrite_front_matter(text, value, plain_yaml=suffix in (".yaml", ".yml"))
    except EditError as exc:
        raise _Refused(f"cannot rewrite: {exc}") from None
    if not signed:
        return
    if not _same_records(items, list(parse_text(source, new_text, suffix)), signed):
        raise _Refused(
            "the rewrite would change more than `secured` (unusual YAML or JSON layout?)"
        )
    if new_text != text:
        _replace(path, st, new_text.encode("utf-8"), force, result.notes)
    result.signed = len(signed)
