"""The daemon's count of the targets `exclude_urls` leaves out (`check` has
`summary.excluded`): one log line per scan pass that changed it, never one per
target, and `article-monitor status` shows it (text and JSON)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from daemon_harness import CLI, DaemonProcess, LinkServer, article, wait_for, write_config

ADS = r"^http://ads\."
LINE = "targets left out by exclude_urls"


def status(cfg: Path, fmt: str) -> str:
    done = subprocess.run(
        [CLI, "status", "--config", str(cfg), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def said(daemon: DaemonProcess) -> list[str]:
    return [line.split("INFO")[-1].strip() for line in daemon.text().splitlines() if LINE in line]


def test_the_excluded_targets_are_counted_once_per_change_and_shown(tmp_path: Path) -> None:
    """Two of three articles on the ad host: `2 targets left out` once, whatever the
    passes after it (0.2 s apart); one of them deleted: `1 …` once; `status` says 1.
    ~4 s: a daemon's start and the passes waited for."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, exclude_urls=[ADS], rescan_interval=0.2)
        corpus = tmp_path / "corpus"
        for name, url in (("a", "http://news.test/a/"), ("b", "http://ads.test/b/")):
            (corpus / f"{name}.txt").write_text(article(url))
        (corpus / "c.txt").write_text(article("http://ads.test/c/"))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: said(daemon), 20, what=daemon.text)
            time.sleep(0.6)  # passes that change nothing (0.2 s apart): nothing more said
            assert said(daemon) == [f"monitor.daemon.scan: 2 {LINE}"]
            (corpus / "c.txt").unlink()
            wait_for(lambda: len(said(daemon)) == 2, 20, what=daemon.text)
            assert said(daemon)[1] == f"monitor.daemon.scan: 1 {LINE}"
            time.sleep(0.6)  # nor after this change
            assert len(said(daemon)) == 2
        finally:
            daemon.kill()
        assert not any(u.startswith("ads.test") for u in site.url_hits)
    assert json.loads(status(cfg, "json"))["excluded_targets"] == 1
    assert f"1 {LINE}" in status(cfg, "table")


def test_the_count_after_a_reload_is_said_then(tmp_path: Path) -> None:
    """SIGHUP with the pattern dropped, then SIGHUP with it back: the pass each
    reload forces says its count at once (0, then 2). Before, the second `2 …`
    line, the same words as the start's a few seconds before, was held back as a
    repeat (logs.py, 60 s) and said only as a summary a minute later or at the
    stop: the operator who had just put the pattern back read `0 targets left
    out` as the last word. ~5 s: a daemon's start and two reloads."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, exclude_urls=[ADS], rescan_interval=60)
        corpus = tmp_path / "corpus"
        for name, url in (("a", "http://news.test/a/"), ("b", "http://ads.test/b/")):
            (corpus / f"{name}.txt").write_text(article(url))
        (corpus / "c.txt").write_text(article("http://ads.test/c/"))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: said(daemon), 20, what=daemon.text)
            text = cfg.read_text()
            cfg.write_text(text.replace(json.dumps([ADS]), "[]"))
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: len(said(daemon)) == 2, 20, what=daemon.text)
            cfg.write_text(text)
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: len(said(daemon)) == 3, 20, what=daemon.text)
            assert said(daemon) == [f"monitor.daemon.scan: {n} {LINE}" for n in (2, 0, 2)]
        finally:
            daemon.kill()
