"""The log's repeat filter never holds back what an operator caused or must see
when it happens (a reload refused or done, the stop), and a count it held back
is said as a summary of the past, before "stopped", never as the latest event."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config

URL = "http://news.test/a/"


def test_each_sighup_is_answered_in_the_log_at_once(tmp_path: Path) -> None:
    """A second SIGHUP with the same broken configuration within the repeat
    window logged nothing at the time ("reload refused" held back for 60 s), nor
    did a second good reload say "configuration reloaded"."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            cfg.write_text(cfg.read_text() + "per_host = true\n")  # refused: not a number

            def said(text: str) -> int:
                return daemon.text().count(text)

            for n in (1, 2):
                daemon.signal(signal.SIGHUP)
                wait_for(lambda n=n: said("reload refused") == n, what=daemon.text)
            write_config(tmp_path, site.port, rescan_interval=3600.0)
            for n in (1, 2):
                daemon.signal(signal.SIGHUP)
                wait_for(lambda n=n: said("configuration reloaded") == n, what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()


def test_a_count_held_back_is_said_before_stopped_as_a_summary_of_the_past(
    tmp_path: Path,
) -> None:
    """A repeat held back at the stop was written after "stopped", as the log's
    last line, in the words of a latest event ("the last message was repeated
    1 more times in 0 s: SIGUSR1 ignored ...")."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            # the daemon's own handlers in place: before, SIGUSR1 is said once counted
            wait_for(lambda: "scheduler running" in daemon.text(), what=daemon.text)
            daemon.signal(signal.SIGUSR1)  # written
            wait_for(lambda: "SIGUSR1 ignored" in daemon.text(), what=daemon.text)
            daemon.signal(signal.SIGUSR1)  # held back
            # its warning is handled before the reload's line (the lower signal first
            # if both are pending, and the reload says its line a step later)
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in daemon.text(), what=daemon.text)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    lines = [line for line in daemon.text().splitlines() if " monitor." in line]
    assert lines[-1].endswith("monitor.daemon: stopped"), lines[-3:]
    summaries = [line for line in lines if "SIGUSR1 ignored" in line and "repeated" in line]
    assert len(summaries) == 1, lines
    between = r"repeated 1 more times between \d\d:\d\d:\d\d and \d\d:\d\d:\d\d: SIGUSR1"
    assert re.search(between, summaries[0]), summaries


def test_a_flood_of_sighups_during_the_stop_is_answered_once_then_counted(
    tmp_path: Path,
) -> None:
    """Hostile review R19: "SIGHUP ignored: stopping" was written for each SIGHUP
    (extra=EVERY, past the repeat filter): 20,000 sent during a stop's grace
    wrote 189 lines, one per signal the loop saw. The first is the answer; the
    rest are counted, said in one summary before "stopped"."""
    with LinkServer(hang=True) as site:
        cfg = write_config(
            tmp_path, site.hang_port, interval=3600.0, timeout=600.0, shutdown_grace=3.0
        )
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: site.hung >= 1, what=daemon.text)  # the stop waits for it
            daemon.signal(signal.SIGTERM)
            wait_for(lambda: "stopping: no new claims" in daemon.text(), what=daemon.text)
            for _ in range(100):  # bounded; the loop sees a few of them apart
                daemon.signal(signal.SIGHUP)
                wait_for(lambda: "SIGHUP ignored" in daemon.text(), what=daemon.text)
            assert daemon.wait(60) == 0
        finally:
            daemon.kill()
    lines = [line for line in daemon.text().splitlines() if "SIGHUP ignored" in line]
    assert lines[0].endswith("monitor.daemon: SIGHUP ignored: stopping"), lines[:3]
    # the answer, the filter's first of its own, and one count of the rest
    assert len(lines) <= 3, lines[:5]
    assert "repeated" in lines[-1] or len(lines) < 3, lines
