"""A second SIGTERM or Ctrl-C while the daemon stops does not cut the stop short.

`timeout 1h article-monitor run --once` sends SIGTERM twice (to the command,
then to its process group), a service manager may too, and an impatient user
presses Ctrl-C again. Once the daemon's loop handlers were removed (after the
checks settled, before the writer stopped and the member left the cluster),
the next SIGTERM took its default action: killed, status 143, "stopped" never
logged; the next SIGINT raised KeyboardInterrupt into the cleanup: a
traceback, "Aborted!" and exit 1 (r5 review). The first signal stops it;
later ones are ignored, as `check` ignores them.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, query, wait_for, write_config

BOUND = 60  # seconds: a bound on a hang, never a timing
BURST = 20_000  # signals at most, one every half millisecond until the daemon is gone


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signals_after_the_first_leave_the_stop_whole(tmp_path: Path, sig: signal.Signals) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(
            '---\nwebUrl: "http://news.test/a/"\ntitle: "t"\n---\n'
        )
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening(BOUND)
            wait_for(lambda: "scheduler running" in daemon.text(), BOUND, what=daemon.text)
            sent = 0
            while daemon.proc.poll() is None and sent < BURST:
                daemon.signal(sig)
                sent += 1
                time.sleep(0.0005)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
    text = daemon.text()
    assert code == 0, (code, sent, text)
    assert "Traceback" not in text and "Aborted" not in text, text
    assert text.rstrip().endswith("monitor.daemon: stopped"), text
    db = tmp_path / "data" / "article-monitor.db"
    assert query(db, "select count(*) from leases") == [(0,)]
    assert query(db, "select count(*) from cluster_members") == [(0,)]
