"""A running daemon's overview tells what the daemon itself knows is wrong
(session 16, G5): a hostile review ran it with a corpus path removed and on a
full disk, /readyz said so, and `/` showed its counts as usual. The banner comes
and goes with the fault."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, query, wait_for, write_config

BANNER = 'class="troubles"'


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def overview(daemon: DaemonProcess) -> str:
    status, body = daemon.get("/")
    assert status == 200, body
    return body


def stop(daemon: DaemonProcess) -> None:
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.text()


def test_a_removed_corpus_path_is_on_the_overview_until_it_is_back(tmp_path: Path) -> None:
    gone = tmp_path / "<b>news<i> & co"  # a path is shown as text, never as markup
    gone.mkdir()
    (gone / "a.txt").write_text(article("http://news.test/a/"))
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, paths=[str(tmp_path / "corpus"), str(gone)])
        db = tmp_path / "data" / "article-monitor.db"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 1, what=daemon.text)
            assert BANNER not in overview(daemon)
            gone.rename(tmp_path / "elsewhere")

            def banner() -> str | None:
                body = overview(daemon)
                return body if BANNER in body else None

            body = wait_for(banner, 15, what=daemon.text)
            assert "<strong>corpus</strong>" in body
            assert f"corpus path missing: {tmp_path}/&lt;b&gt;news&lt;i&gt; &amp; co" in body
            assert "<b>news" not in body
            assert "corpus path missing" in json.dumps(json.loads(daemon.get("/readyz")[1]))
            (tmp_path / "elsewhere").rename(gone)
            wait_for(lambda: BANNER not in overview(daemon), 15, what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB tmpfs, where the system lets us mount one (root, no seccomp veto)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("needs root and mount(8) to make a small filesystem")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    """Take every free byte of the filesystem; returns the filler to delete."""
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


def test_failing_writes_on_a_full_disk_are_on_the_overview(tmp_path: Path, small_fs: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(
            tmp_path, site.port, data_dir=str(small_fs), concurrency=16, interval=0.1
        )
        for i in range(40):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        db = small_fs / "article-monitor.db"
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 40, what=daemon.text)
            assert BANNER not in overview(daemon)
            filler = _fill(small_fs)
            for i in range(40, 240):  # new documents: the rescan and the results want pages
                (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))

            def full() -> str | None:
                body = daemon.get("/")[1]
                return body if "disk is full" in body else None

            body = wait_for(full, 20, what=daemon.text)
            assert BANNER in body and "since" in body
            assert any(f"<strong>{p}</strong>" in body for p in ("writes", "corpus scan"))
            filler.unlink()
            wait_for(lambda: BANNER not in overview(daemon), 20, what=daemon.text)
            stop(daemon)
        finally:
            daemon.kill()
