"""One daemon per SQLite file: a second `run` on a database a live daemon uses is
refused before it writes anything.

SQLite is a cluster of one (docs/scaling.md). Two daemons on one file kept out
of each other's targets (the claim's lease) but not out of each other's hosts:
each applied `per_host` and `host_min_interval` on its own, so a host with
`per_host = 1` got two requests at once; both scanned the corpus and
both heartbeat as members of a cluster SQLite does not support.

The lock is `flock` on `<db>.lock` beside the database (the file's real path,
symlinks followed; a symlink at the lock's own name is not). The kernel drops
it when the process dies (`kill -9` included), so a lock file left behind is
harmless. A clean end removes it, while still holding it, so the folder holds
what it held before; a start that locked a file removed meanwhile (it opened
it before the removal) sees that its path now names another file or none, and
tries again: never two holders. Removed by someone else while held, it is made
and locked again at the daemon's next checkpoint (`Lock.renew`). Not SQLite's
file itself: SQLite's own locks are POSIX byte-range locks, which a process
loses when it closes any descriptor of the file, and NFS turns `flock` into
those. The descriptor is not inherited (O_CLOEXEC): a checker process that
outlives the daemon does not keep the lock. The holder writes its pid, start
and host into the file, for the refusal's message.

Where the lock cannot be taken (a file system without locks) the daemon warns
and goes on as before. A folder where the lock file cannot be made is one where
SQLite cannot make its `-wal` either: the database's own checks refuse the start
with what to do, so nothing is said here, unless a `-wal` is already there.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import logging
import os
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import ArgumentError

from monitor.storage.engine import check_sqlite_query, is_sqlite
from monitor.storage.opening import DatabaseUnusable

log = logging.getLogger("monitor.daemon")

SUFFIX = ".lock"
TRIES = 5
_DENIED = (errno.EACCES, errno.EROFS, errno.EPERM)
# a symlink at the lock's name is not followed: the holder's line was written over
# the file it named (a corpus document), truncated to it
_FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the daemon that holds it."""

    pid: str
    since: str
    host: str

    def shown(self) -> str:
        """`pid N, since T` (`pid N on HOST, since T` from another machine)."""
        host = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        since = f", since {self.since}" if self.since else ""
        return f"pid {self.pid or 'unknown'}{host}{since}"


def lock_path(db: Path) -> Path:
    """The lock file of the database at `db`: beside the file it names."""
    real = Path(os.path.realpath(db))
    return real.with_name(real.name + SUFFIX)


def parse_holder(text: str) -> Holder:
    """Pure: the lock file's line `PID<TAB>SINCE<TAB>HOST`; what is missing stays
    empty (a holder between its lock and its write, a file written by hand)."""
    fields = (text.splitlines() or [""])[0].split("\t")
    pid, since, host = ([f.strip()[:200] for f in fields] + ["", "", ""])[:3]
    return Holder(pid if pid.isdigit() else "", since, host)


def holder_line(pid: int, now: datetime.datetime, host: str) -> str:
    """Pure: the line a holder writes (parse_holder reads it back)."""
    since = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{pid}\t{since}\t{host}\n"


def _open(path: Path) -> tuple[int, bool]:
    """The lock file's descriptor, and whether it was opened for writing. A file
    that exists but may not be written (a read-only folder, another user's file)
    is locked all the same, through a read-only descriptor."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | _FLAGS, 0o644), True
    except OSError as exc:
        if exc.errno not in _DENIED:
            raise
        return os.open(path, os.O_RDONLY | _FLAGS), False


def _read(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 1024, 0).decode("utf-8", "replace")
    return ""


def _names(fd: int, path: Path) -> bool:
    """`path` still names the file open at `fd` (its holder did not remove it)."""
    try:
        st, now = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino)


@dataclass
class Lock:
    """A lock held: `fd` open on `path` until `release`."""

    fd: int
    path: Path
    # `renew` runs on a database thread a stop may leave behind (the checkpoint's),
    # `release` on the main one: one at a time, and none after the release (the
    # same descriptor closed twice could close another file's that reused it)
    _turn: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _released: bool = False

    def renew(self) -> None:
        """At each checkpoint (jobs.py): the lock file removed while held (a clean-up
        of `*.lock` files, an operator's `rm`) let a second daemon start on the
        file; it is made and locked again, or the second daemon already there is
        named in an error."""
        with self._turn:
            if not self._released:
                self._renew()

    def _renew(self) -> None:
        if _names(self.fd, self.path):
            return
        try:
            fd, writable = _open(self.path)
        except OSError as exc:
            log.error(
                "%s was removed while the daemon ran and cannot be made again (%s): "
                "a second daemon on its database would not be refused",
                self.path,
                exc.strerror,
            )
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = parse_holder(_read(fd)) if isinstance(exc, BlockingIOError) else None
            os.close(fd)
            if holder is not None:
                log.error(
                    "%s was removed while the daemon ran, and another article-monitor run "
                    "(%s) locked it since: two daemons use one SQLite file; stop one of them",
                    self.path,
                    holder.shown(),
                )
            return
        if not _names(fd, self.path):  # removed again as we locked: the next checkpoint
            os.close(fd)
            return
        os.close(self.fd)  # the removed file's: nobody else can open it
        self.fd = fd
        if writable:
            _write_holder(fd)
        log.warning("%s was removed while the daemon ran; made again", self.path)

    def release(self) -> None:
        """Remove the lock file while still holding it (if it is still ours), then
        let go. A start that opened it meanwhile finds it removed and tries again."""
        with self._turn:
            if self._released:
                return
            self._released = True
            try:
                if _names(self.fd, self.path):
                    with contextlib.suppress(OSError):
                        self.path.unlink()
            finally:
                os.close(self.fd)


@contextlib.contextmanager
def held(url: str) -> Iterator[Lock | None]:
    """The SQLite database at `url` locked for this process while in the block
    (the lock, or None when none was taken: `hold`). Raises DatabaseUnusable if
    another process holds it: nothing was written."""
    lock = hold(url)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


def hold(url: str) -> Lock | None:
    """Lock the SQLite database at `url`. None for a server database, or when no
    lock could be taken (a warning said so where it matters). Raises
    DatabaseUnusable if another process holds it."""
    try:
        target = check_sqlite_query(url) if is_sqlite(url) else None
    except (ArgumentError, ValueError):
        return None  # not a URL the database's opening accepts: it says why
    if target is None or target.path is None or target.read_only is not None:
        # PostgreSQL: a cluster; in memory or read-only: `run` refuses them, and
        # nothing (not even the lock's folder) is made before
        return None
    db = Path(target.path)
    path = lock_path(db)
    for _ in range(TRIES):  # another try only when a holder removed the file as we locked
        try:
            fd, writable = _open(path)
        except OSError as exc:
            if exc.errno not in (*_DENIED, errno.ENOENT) or _wal(db).exists():
                why = "a symbolic link, not followed" if exc.errno == errno.ELOOP else None
                _unlocked(path, db, why or exc.strerror)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _living(parse_holder(_read(fd)))
            os.close(fd)
            raise DatabaseUnusable(
                f"another article-monitor run ({holder.shown()}) is using {db}; stop it "
                "first, or use PostgreSQL for several daemons"
            ) from None
        except OSError as exc:  # ENOLCK: NFS without its lock service
            os.close(fd)
            _unlocked(path, db, exc.strerror)
            return None
        if _names(fd, path):
            if writable:
                _write_holder(fd)
            _linked(db)
            return Lock(fd, path)
        os.close(fd)
    _unlocked(path, db, "removed and made again while locking")
    return None


def _living(holder: Holder) -> Holder:
    """`holder`, or an unknown one when its line names a process of this machine
    that is gone: a holder that took the lock through a read-only descriptor
    could not write its own line, and a killed run's was read as the holder's."""
    if holder.pid and holder.host == socket.gethostname():
        try:
            os.kill(int(holder.pid), 0)
        except ProcessLookupError:
            return Holder("", "", "")
        except (OSError, OverflowError):  # another user's (EPERM): alive
            pass
    return holder


def _linked(db: Path) -> None:
    """A database with hard links has another name, with another lock: a daemon on
    it is not refused, and SQLite keeps its `-wal` per name (two daemons, two
    logs of one file: damage). Said, since the start cannot tell which is used."""
    try:
        made = os.stat(db)
    except OSError:  # not made yet
        return
    links = made.st_nlink
    if stat.S_ISREG(made.st_mode) and links > 1:  # a folder's links are its entries'
        log.warning(
            "%s has %d hard links: a second daemon started on another of its names would "
            "not be refused (and SQLite would keep a second -wal for it: damage); name the "
            "file one way",
            db,
            links,
        )


def _wal(db: Path) -> Path:
    real = Path(os.path.realpath(db))
    return real.with_name(real.name + "-wal")


def _unlocked(path: Path, db: Path, why: str | None) -> None:
    log.warning("cannot lock %s (%s): a second daemon on %s would not be refused", path, why, db)


def _write_holder(fd: int) -> None:
    """Who holds it, for a refused start's message (the lock is what counts)."""
    line = holder_line(os.getpid(), datetime.datetime.now(datetime.UTC), socket.gethostname())
    data = line.encode()
    with contextlib.suppress(OSError):
        os.pwrite(fd, data, 0)  # written over, never emptied first: a reader sees a line
        os.ftruncate(fd, len(data))
