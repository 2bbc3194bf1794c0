"""Make chosen folders fail to list, for root too (permission bits do not stop root).

`os.scandir` is wrapped, so whatever walks the corpus (the walker of today
or of tomorrow) meets the error exactly where a real one would be.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def failing_listings(
    monkeypatch: pytest.MonkeyPatch, failures: dict[Path, int]
) -> Iterator[dict[Path, int]]:
    """Listing a folder in `failures` raises OSError with that errno; the dict may be
    changed while in use (remove a folder to make it readable again)."""
    real: Callable[..., Any] = os.scandir

    def scandir(path: Any = ".") -> Any:
        if isinstance(path, int):  # a folder opened by descriptor (shutil.rmtree does)
            return real(path)
        code = failures.get(Path(os.fsdecode(path)).absolute())
        if code is not None:
            raise OSError(code, os.strerror(code), os.fsdecode(path))
        return real(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        yield failures


def hostile_tree(root: Path, url: Callable[[int], str] | None = None) -> Path:
    """A corpus of what a shared folder collects: three readable documents (one under
    a name that is not UTF-8, one in a folder named like a file) and four entries
    that must be reported, never read: a symlink loop, a dangling link, a FIFO and
    a device; plus a folder loop that must not be followed."""
    root.mkdir()

    def article(n: int) -> str:
        web = url(n) if url else f"https://news{n}.example.com/a"
        return f'---\nwebUrl: "{web}"\ntitle: "t"\n---\n'

    (root / "ok.txt").write_text(article(1))
    (root / os.fsdecode(b"bad\xff.txt")).write_text(article(2))
    (root / "self.txt").symlink_to("self.txt")
    (root / "dangling.txt").symlink_to("nowhere.txt")
    os.mkfifo(root / "fifo.jsonl")
    (root / "zero.json").symlink_to("/dev/zero")
    (root / "up").symlink_to("..")
    (root / "dir.txt").mkdir()
    (root / "dir.txt" / "inner.md").write_text(article(3))
    return root


def permissions_ignored() -> bool:
    """Whether this process reads a file whatever its mode (root, with CAP_DAC_OVERRIDE).

    Probed rather than judged by the uid, so the permission tests also run as
    root without that capability:
    `setpriv --bounding-set=-dac_override,-dac_read_search .venv/bin/pytest ...`
    """
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_bytes(b"")
        probe.chmod(0)
        try:
            probe.open("rb").close()
        except PermissionError:
            return False
        return True


PERMISSIONS_IGNORED = permissions_ignored()

EACCES = errno.EACCES
EMFILE = errno.EMFILE


@contextmanager
def small_tmpfs(where: Path, options: str = "size=32m") -> Iterator[Path]:
    """A tmpfs mounted at `where` (made), unmounted at the end: a file system to
    fill up. Skips where it cannot be mounted (not root, no mount(8), a veto)."""
    import shutil
    import subprocess

    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("needs root and mount(8) to make a small file system")
    where.mkdir(exist_ok=True)
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Take every free byte of `directory`'s file system; returns the filler to delete."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):  # unbuffered: down to the last scraps
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler
