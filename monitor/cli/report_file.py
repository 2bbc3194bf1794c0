"""`check -o FILE`: FILE holds either its old content or a whole report.

Written in place, a full file system (or EIO, a quota) left half a report
and lost the last one, and a reader of FILE (a CI job, a dashboard) could
see a half-written report at any time during the run. A regular FILE (or a
missing one) is now written as a hidden temporary file beside it
(`.FILE.XXXXXXXX.tmp`: the corpus scan skips hidden names, and `.tmp` is no
document suffix) and renamed over FILE once the report is complete, a valid
partial one of an interrupted run included. Any error removes the temporary
file and leaves FILE as it was. Only a SIGKILL (or a crash) can leave one.

A symbolic link FILE keeps being the link: its target is replaced (a
`latest.json -> runs/2026-12-06.json` link is the user's, and writing the
target in place would bring back the half-written window).

Written in place, as before, where a rename cannot serve: a FIFO or a device
(/dev/stdout, /dev/null), a file with hard links (a rename would split them),
a file owned by another user (the rename would take it over), a folder where
the user may not create files.

The temporary file is fsynced before the rename (one fsync per run): without
it a power cut just after the rename can leave FILE empty on file systems
that do not flush a file renamed over another (XFS, ext4 without
auto_da_alloc). The folder is not: a lost rename leaves the old report,
which is what a stop before the report leaves too.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import stat
from pathlib import Path

from monitor.cli.output_path import NamedOutput, named_error

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NAME_MAX = 200  # of FILE's name in the temporary one: 14 more must fit in 255
_TRIES = 20  # names taken already: 32 random bits each, so a clash is ~never


class ReportFile:
    """The report's file, from `open` until `commit` (the run is over, whatever
    its exit code) or `discard` (an error or a stop before the run: FILE is
    left as it was). `discard` may be called at any time, more than once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: NamedOutput | None = None
        self._temp: Path | None = None  # None: written in place
        self._target = path  # what the temporary file replaces: FILE, or its link's target

    def open(self) -> NamedOutput:
        target = Path(os.path.realpath(self.path))
        if _replaceable(target):
            # a stop signal raises (before the run): held while the file is made and
            # recorded, so `discard` always knows of it
            held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            try:
                self._make_temporary(target)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            if self._out is not None:
                return self._out
        from monitor.cli.output_path import open_report

        # in place: a FIFO's open waits for a reader, so the signals are not held here
        self._out = open_report(self.path)
        return self._out

    def _make_temporary(self, target: Path) -> None:
        from monitor.whole_write import whole_text

        made = _create_beside(target)
        if made is None:
            return
        fd, temp = made
        self._temp, self._target = temp, target
        try:
            _take_over(fd, target)
            self._out = NamedOutput(whole_text(fd), self.path)
        except OSError:  # another user's file, say: written in place
            os.close(fd)
            self._remove()
        except BaseException:
            os.close(fd)
            self._remove()
            raise

    def commit(self) -> None:
        """The report is complete: it replaces FILE (for a temporary file), or is
        flushed and closed (in place). An error names FILE and leaves it as it was."""
        out, temp = self._out, self._temp
        self._out = None
        if out is None:
            return
        if temp is None:
            out.close()
            return
        try:
            out.flush()
            try:
                os.fsync(out.fileno())
            except OSError as exc:
                raise named_error(exc, self.path) from None
            out.close()
            try:
                os.replace(temp, self._target)
            except OSError as exc:
                if exc.errno not in (errno.EBUSY, errno.EXDEV):
                    raise named_error(exc, self.path) from None
                # FILE is a mount point (a bind-mounted file: `docker run -v
                # /data/r.json:/out/r.json`), which a rename cannot replace
                _copy_in_place(temp, self._target, self.path)
                self._remove()
        except BaseException:
            self._out = out
            self.discard()
            raise
        self._temp = None  # renamed: FILE now

    def discard(self) -> None:
        """FILE keeps what it held (a temporary file is removed; in place, FILE
        was only emptied if the report's first write came)."""
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except OSError:
                pass  # the error being raised says why
        self._remove()

    def _remove(self) -> None:
        temp, self._temp = self._temp, None
        if temp is not None:
            self._remove_quietly(temp)

    @staticmethod
    def _remove_quietly(temp: Path) -> None:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass


def _replaceable(target: Path) -> bool:
    """A missing file or a regular one with no other hard link."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return True
    except OSError:  # the open in place says why
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def _create_beside(target: Path) -> tuple[int, Path] | None:
    """A new hidden file in `target`'s folder, mode as a new file gets under the
    umask; None where the user may not create one (written in place)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(_TRIES):
        temp = target.parent / f".{target.name[:_NAME_MAX]}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # in place would lose FILE's
                raise named_error(exc, target) from None
            return None  # not the user's folder (or none): the open in place says why
    return None


def _take_over(fd: int, target: Path) -> None:
    """The temporary file gets the owner and mode of the FILE it replaces (raises
    OSError when it cannot: the file is another user's)."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        return
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        os.fchown(fd, old.st_uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def _copy_in_place(temp: Path, target: Path, shown: Path) -> None:
    """The whole report copied over FILE (a mount point): emptied, then written."""
    from monitor.whole_write import write_all

    try:
        with open(temp, "rb") as source:
            fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
            try:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    write_all(lambda view: os.write(fd, view), chunk, fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise named_error(exc, shown) from None
