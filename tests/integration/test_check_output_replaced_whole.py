"""`check -o FILE` leaves FILE holding its old content or a whole report.

Written in place, a full file system left half a new report and lost the last
one (exit 2), and a reader of FILE saw a half-written report during the run.
A regular FILE is now written as a hidden temporary file beside it and
renamed over FILE when the report is complete; a FIFO, a device, a file with
hard links, another user's file are still written in place. Each case runs
the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
from support.fsfaults import small_tmpfs
from support.unprivileged import enterable_by_others

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "articles"
OLD = '{"version": 1, "the": "last run\\u0027s report"}\n'
NOBODY = 65534


def check(out: Path | str, *, user: int | None = None) -> subprocess.CompletedProcess[str]:
    # setpriv, not subprocess's user=: its exec of the venv's python was refused (EACCES)
    who = (
        [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    )
    return subprocess.run(
        [
            *who,
            sys.executable,
            "-m",
            "monitor",
            "check",
            str(EXAMPLES),
            "--offline",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def articles(path: Path) -> int:
    count: int = json.loads(path.read_text())["summary"]["articles"]
    return count


@pytest.mark.parametrize(
    ("options", "padding"),
    # 48 of 64 KiB: the ~36 KiB report cannot fit beside the old one; or no inode
    # left for a temporary file (the folder and FILE take the two)
    [("size=64k", 48 * 1024), ("size=1m,nr_inodes=2", 0)],
    ids=["no-space", "no-inode"],
)
def test_a_full_file_system_keeps_the_last_report(
    tmp_path: Path, options: str, padding: int
) -> None:
    with small_tmpfs(tmp_path / "disk", options) as disk:
        out = disk / "report.json"
        old = OLD + " " * padding
        out.write_text(old)
        done = check(out)
        assert done.returncode == 2, done.stderr
        assert "No space left on device" in done.stderr and str(out) in done.stderr
        assert "Traceback" not in done.stderr
        assert out.read_text() == old
        assert sorted(os.listdir(disk)) == ["report.json"]  # no temporary file left


# a reader of FILE looks at it after each write of the report has reached the file
WATCHED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from monitor.cli import output_path

    seen = Path(sys.argv[1])
    target = Path(sys.argv[-1])
    old = target.read_text()
    write = output_path.NamedOutput.write

    def watched(self, text):
        done = write(self, text)
        self.flush()
        now = target.read_text()
        if now != old:
            seen.write_text(now[:200])
        return done

    output_path.NamedOutput.write = watched
    sys.argv = ["article-monitor", *sys.argv[2:]]
    import monitor.cli
    monitor.cli.main()
    """
)


def test_a_reader_never_sees_a_half_written_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text(OLD)
    seen = tmp_path / "seen"
    args = ["check", str(EXAMPLES), "--offline", "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", WATCHED, str(seen), *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode in (0, 1), done.stderr
    assert not seen.exists(), f"FILE held part of the report: {seen.read_text()!r}"
    assert articles(out) > 0


def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text(OLD)
    old.chmod(0o640)
    for path in (new, old):
        assert check(path).returncode in (0, 1)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    assert articles(old) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "old.json"]


def test_a_symbolic_link_is_kept_and_its_target_replaced(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    target = runs / "today.json"
    target.write_text(OLD)
    link = tmp_path / "latest.json"
    link.symlink_to(Path("runs") / "today.json")
    done = check(link)
    assert done.returncode in (0, 1), done.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("runs") / "today.json")
    assert articles(target) > 0
    assert os.listdir(runs) == ["today.json"]


def test_a_file_with_hard_links_is_written_in_place(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text(OLD)
    other = tmp_path / "copy.json"
    os.link(out, other)
    done = check(out)
    assert done.returncode in (0, 1), done.stderr
    assert out.stat().st_nlink == 2 and out.samefile(other)
    assert articles(other) > 0


def test_a_fifo_reader_gets_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = check(fifo)
    reader.join(30)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(got[0])["summary"]["articles"] > 0
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["report.fifo"]


def test_dev_null_takes_the_report() -> None:
    done = check("/dev/null")
    assert done.returncode in (0, 1), done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_another_users_file_in_a_folder_of_theirs_is_written_in_place() -> None:
    """The user may write FILE but not create files beside it, or FILE is
    another user's in a shared folder (a rename would take it over): in place."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as another user needs root and setpriv")
    with tempfile.TemporaryDirectory() as top:  # pytest's tmp_path is root's alone (0700)
        Path(top).chmod(0o755)
        _another_users_file(Path(top))


def _another_users_file(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    for folder in (closed, shared):
        out = folder / "report.json"
        out.write_text(OLD)
        out.chmod(0o666)
        with enterable_by_others():  # a fresh clone's folders are 0700
            done = check(out, user=NOBODY)
        assert done.returncode in (0, 1), done.stderr
        assert "Traceback" not in done.stderr and "setpriv" not in done.stderr, done.stderr
        assert articles(out) > 0
        assert out.stat().st_uid == 0 and stat.S_IMODE(out.stat().st_mode) == 0o666
        assert os.listdir(folder) == ["report.json"]


def test_a_bind_mounted_file_takes_the_report(tmp_path: Path) -> None:
    """A mount point cannot be renamed over (EBUSY): the report is copied in
    (`docker run -v /data/r.json:/out/r.json`)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    source, out = tmp_path / "source.json", tmp_path / "report.json"
    source.write_text(OLD)
    out.write_text("")
    mounted = subprocess.run(["mount", "--bind", str(source), str(out)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount a file: {mounted.stderr!r}")
    try:
        done = check(out)
        assert done.returncode in (0, 1), done.stderr
        assert articles(source) > 0
    finally:
        subprocess.run(["umount", str(out)], check=True)
    assert sorted(os.listdir(tmp_path)) == ["report.json", "source.json"]
