"""The file I/O around the rewrite, the same for all three ways of it.

A file is replaced through a temporary file in its folder and a rename, so a
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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from monitor.corpus import files
from monitor.corpus.files import DecodeError, NotRegularFile, open_regular, os_reason, read_whole
from monitor.secured.inplace.result import CHANGED_SIGNING, Refused
from monitor.whole_write import write_all


@contextlib.contextmanager
def opened(path: Path) -> Iterator[tuple[os.stat_result, BinaryIO]]:
    """The file open for reading, by the corpus reader's rules (no FIFO), and its status.
    An OSError of the body is "cannot read it": the body raises what it writes as Refused."""
    try:
        link = os.lstat(path)
    except OSError as exc:
        raise Refused(f"cannot read it: {os_reason(exc)}") from None
    if stat.S_ISLNK(link.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise Refused(
            f"is a symbolic link (to {target}), not rewritten through the link; "
            "sign the file it points to by its own path"
        )
    # A symlink swapped in after the lstat is caught before the rename: the
    # file then no longer matches the status read here (`_same_file`).
    try:
        with open_regular(path) as (st, fh):
            yield st, fh
    except NotRegularFile as exc:
        raise Refused(exc.strerror or "not a regular file") from None
    except OSError as exc:
        raise Refused(f"cannot read it: {os_reason(exc)}") from None


def read(path: Path) -> tuple[os.stat_result, bytes]:
    """The file's status and bytes, read by the corpus reader's rules (no FIFO, size caps)."""
    with opened(path) as (st, fh):
        if st.st_size > files.MAX_FILE_BYTES:  # read up to the cap first: 570 MB for nothing
            raise Refused(files.over_limit(path.suffix).message)
        try:
            return st, read_whole(fh, path.suffix)
        except DecodeError as exc:
            raise Refused(exc.message) from None


def write_refusals(path: Path, st: os.stat_result) -> list[tuple[str, str | None]]:
    """(refusal, note under --force) for what a rename would break or override; a
    refusal with no note is not overridden by --force (a read-only file system: its
    files' modes say nothing, and no rename can be made there)."""
    if _read_only_mount(path.parent):
        return [("is on a read-only file system (remount it read-write to sign it)", None)]
    found: list[tuple[str, str | None]] = []
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


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False  # unknown here: the write itself will say what is wrong


def check_writable(path: Path, st: os.stat_result, force: bool, notes: list[str]) -> None:
    """Refused for what a rename would break or override; with `force`, notes."""
    for refusal, note in write_refusals(path, st):
        if not force or note is None:
            raise Refused(refusal)
        notes.append(f"{path}: {note}")


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


def temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path` for its new content: its descriptor, and its name ("":
    none yet, see `_UNNAMED`)."""
    if _UNNAMED:
        with contextlib.suppress(OSError):  # not on this file system: a named one says why
            return os.open(path.parent, _UNNAMED | os.O_WRONLY | os.O_CLOEXEC, 0o600), ""
    try:
        return tempfile.mkstemp(prefix=f".{_short(path.name)}.", suffix=".signing", dir=path.parent)
    except OSError as exc:
        raise Refused(f"cannot write in its folder {path.parent}: {os_reason(exc)}") from None


def drop(new: tuple[int, str]) -> None:
    """A temporary file of `temporary` (descriptor, name) closed and gone."""
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


def replace(
    path: Path, st: os.stat_result, data: bytes | memoryview, force: bool, notes: list[str]
) -> None:
    """Write `data` to a temporary file beside `path`, with its owner and mode, then rename."""
    fd, tmp = temporary(path)
    install(
        path, st, (fd, tmp), force, notes, lambda: write_all(lambda v: os.write(fd, v), data, fd)
    )


def install(
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
                        raise Refused(
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
            raise Refused("was removed while it was being signed") from None
        if not _same_file(now, st):
            raise Refused(CHANGED_SIGNING)
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise Refused(write_failure(path, exc)) from None
    finally:
        if not done and tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_failure(path: Path, exc: OSError) -> str:
    where = path.parent if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else path
    return f"cannot replace it in {where}: {os_reason(exc)}"


def _short(name: str) -> str:
    """A name cut to 64 bytes, for a temporary name that stays under NAME_MAX."""
    return name.encode("utf-8", "surrogateescape")[:64].decode("utf-8", "ignore")
