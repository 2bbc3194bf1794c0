"""The lock of one daemon per SQLite file (daemon/sqlite_lock.py) on real files:
held against another opener (another process's, or this one's), let go on
close, never inherited by a child, found through a symlink to the database, and
taken through a read-only descriptor where the lock file may not be written;
removed when let go, left by a process that ends without letting go."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.daemon.sqlite_lock import held, hold, lock_path
from monitor.storage.opening import DatabaseUnusable

_OTHER = """
import sys
from monitor.daemon.sqlite_lock import hold
from monitor.storage.opening import DatabaseUnusable
try:
    hold(sys.argv[1])
except DatabaseUnusable as exc:
    print(exc)
    sys.exit(2)
print("held")
"""


def _other(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _OTHER, url], capture_output=True, text=True, timeout=60
    )


def test_a_held_database_is_refused_to_another_process_until_let_go(tmp_path: Path) -> None:
    db = tmp_path / "data" / "am.db"
    url = f"sqlite:///{db}"
    with held(url):
        out = _other(url)
        assert out.returncode == 2, out
        assert out.stdout.startswith(f"another article-monitor run (pid {os.getpid()}, since ")
        assert not db.exists()  # the lock made the folder and its own file, nothing else
        assert sorted(p.name for p in db.parent.iterdir()) == ["am.db.lock"]
    assert list(db.parent.iterdir()) == []  # let go: the folder as it was
    assert _other(url).stdout == "held\n"
    # the other process ended without letting go (as a `kill -9` does): its file
    # stays, and locks again
    assert [p.name for p in db.parent.iterdir()] == ["am.db.lock"]
    with held(url):
        assert _other(url).returncode == 2


def test_a_second_hold_in_one_process_is_refused_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'am.db'}"
    with held(url), pytest.raises(DatabaseUnusable, match="stop it first"), held(url):
        pass


def test_the_lock_is_not_inherited(tmp_path: Path) -> None:
    lock = hold(f"sqlite:///{tmp_path / 'am.db'}")
    assert lock is not None
    try:
        assert not os.get_inheritable(lock.fd)
    finally:
        lock.release()


def test_a_symlink_to_the_database_shares_its_lock(tmp_path: Path) -> None:
    real = tmp_path / "real" / "am.db"
    real.parent.mkdir()
    real.write_bytes(b"")
    link = tmp_path / "link.db"
    link.symlink_to(real)
    assert lock_path(link) == lock_path(real) == real.with_name("am.db.lock")
    with held(f"sqlite:///{real}"):
        assert _other(f"sqlite:///{link}").returncode == 2


def test_a_lock_file_that_may_not_be_written_still_locks(tmp_path: Path) -> None:
    """As a daemon killed in a folder since made read-only (or another user's file)."""
    db = tmp_path / "am.db"
    lock = lock_path(db)
    lock.write_text("")
    lock.chmod(0o444)
    chattr = shutil.which("chattr")
    if os.geteuid() == 0:  # root writes a 0444 file: an immutable one, then
        if chattr is None or subprocess.run([chattr, "+i", lock], check=False).returncode:
            pytest.skip("root without a working chattr: cannot make a read-only file")
    try:
        with pytest.raises(PermissionError):
            lock.open("w")
        with held(f"sqlite:///{db}"):
            assert _other(f"sqlite:///{db}").returncode == 2
        assert _other(f"sqlite:///{db}").stdout == "held\n"
    finally:
        if os.geteuid() == 0 and chattr is not None:
            subprocess.run([chattr, "-i", lock], check=False)


def test_a_server_database_takes_no_lock() -> None:
    assert hold("postgresql+psycopg://u@127.0.0.1/x") is None


def test_a_symlink_at_the_lock_files_name_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Hostile review R19: a symlink at `<db>.lock` (to a corpus document, a file
    elsewhere) was opened through, and the holder's line written over the file it
    named (truncated to it); the clean end then removed the link."""
    other = tmp_path / "elsewhere.txt"
    other.write_text("not a lock file\n")
    db = tmp_path / "data" / "am.db"
    db.parent.mkdir()
    lock_path(db).symlink_to(other)
    with held(f"sqlite:///{db}") as lock:
        assert lock is None  # not taken: said, as for any lock that cannot be taken
    assert other.read_text() == "not a lock file\n"
    assert lock_path(db).is_symlink()
    assert "a symbolic link, not followed" in caplog.text


def test_a_lock_file_removed_while_held_is_made_again_at_renew(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Hostile review R19: `rm` of the lock file (a clean-up of `*.lock`) while a
    daemon ran let a second start make a new one and run beside it."""
    db = tmp_path / "am.db"
    url = f"sqlite:///{db}"
    with held(url) as lock:
        assert lock is not None
        lock_path(db).unlink()
        lock.renew()  # the daemon's checkpoint
        assert "was removed while the daemon ran; made again" in caplog.text
        out = _other(url)
        assert out.returncode == 2, out
        assert f"(pid {os.getpid()}, since " in out.stdout
    assert not lock_path(db).exists()  # the new one, let go as the first would have been


def test_a_second_holder_found_at_renew_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "am.db"
    url = f"sqlite:///{db}"
    with held(url) as first:
        assert first is not None
        lock_path(db).unlink()
        with held(url) as second:  # started before the first's checkpoint
            assert second is not None
            first.renew()
            assert "two daemons use one SQLite file; stop one of them" in caplog.text
            assert f"another article-monitor run (pid {os.getpid()}, since " in caplog.text


def test_a_refusal_does_not_name_a_dead_pid_from_a_line_its_holder_could_not_write(
    tmp_path: Path,
) -> None:
    """Hostile review R19: a lock file that may not be written, holding a killed
    run's line: the live holder locked it read-only, could not write its own
    line, and a second start was told another run (the dead pid) used the file."""
    db = tmp_path / "am.db"
    lock = lock_path(db)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lock.write_text(f"{dead}\t2026-01-01T00:00:00Z\t{socket.gethostname()}\n")
    lock.chmod(0o444)
    chattr = shutil.which("chattr")
    if os.geteuid() == 0:  # root writes a 0444 file: an immutable one, then
        if chattr is None or subprocess.run([chattr, "+i", lock], check=False).returncode:
            pytest.skip("root without a working chattr: cannot make a read-only file")
    try:
        with held(f"sqlite:///{db}") as taken:
            assert taken is not None
            out = _other(f"sqlite:///{db}")
            assert out.returncode == 2, out
            assert out.stdout.startswith("another article-monitor run (pid unknown) is using")
    finally:
        if os.geteuid() == 0 and chattr is not None:
            subprocess.run([chattr, "-i", lock], check=False)


def test_a_database_with_a_hard_link_is_warned_at_the_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Hostile review R19: a hard link is another name, with another lock file: two
    daemons ran, each freeing the other's claims, with a `-wal` each."""
    db = tmp_path / "am.db"
    db.write_bytes(b"")
    with held(f"sqlite:///{db}"):
        assert "hard links" not in caplog.text
    os.link(db, tmp_path / "other.db")
    with held(f"sqlite:///{db}"), held(f"sqlite:///{tmp_path / 'other.db'}"):
        assert f"{db} has 2 hard links: a second daemon started on another" in caplog.text


def test_a_renewal_after_the_release_touches_no_descriptor(tmp_path: Path) -> None:
    """The checkpoint's renewal runs on a thread a stop may leave behind: one after
    the release closed the released descriptor's number again, by then another
    file's (the first free number is reused), and a second release did too."""
    db = tmp_path / "h.db"
    lock = hold(f"sqlite:///{db}")
    assert lock is not None
    number = lock.fd
    lock.release()
    other = os.open(tmp_path / "other", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert other == number  # the released number, reused
        lock.renew()  # the lock file is gone: before, made again and `number` closed
        lock.release()
        os.fstat(other)  # still open
        assert not lock_path(db).exists()
    finally:
        os.close(other)
