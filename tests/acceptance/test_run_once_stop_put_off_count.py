"""`run --once` (one check at a time) stopped (SIGTERM) while park.test holds
it back (`429 Retry-After: 30`): its exit counts every target of the host
that waits for the hold, those the stop put off never claimed too.

The stop gives back the parked check's claim due at the hold's end and puts
the host's queued targets off to it (dispatch.py `put_off_held`), so a pass
run again at once leaves all of them and exits 0; the exit said `1 of them
wait for their hosts' Retry-After`, the others `due for the next pass`. The
waits are bounds on a hang; ~3 s."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from daemon_harness import DaemonProcess, wait_for
from stop_site import documents_read, park_config, stop_site

BOUND = 40  # seconds: a bound on a hang, never a timing
TARGETS = 6


def test_run_once_stopped_in_a_hold_counts_the_targets_put_off(tmp_path: Path) -> None:
    with stop_site(pause=0.1, retry_after=30) as site:
        config = park_config(tmp_path, site.port, TARGETS, concurrency=1, shutdown_grace=2.0)
        daemon = DaemonProcess(config, "--once")
        try:
            # the first 429 in, and every target known (the scan over), so all are put off
            wait_for(
                lambda: site.started() and documents_read(daemon.text()) == TARGETS,
                BOUND,
                what=daemon.text,
            )
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
        asked = site.started()
    said = daemon.text()
    assert code == 1, said
    assert "Traceback" not in said, said
    assert len(asked) == 1, asked  # the setup: one target asked (429), the rest queued
    assert "queued targets of held hosts put off" in said, said[-3000:]
    wait = re.search(r"(\d+) of them wait for their hosts' Retry-After or 429/503 hold", said)
    assert wait is not None, said[-3000:]
    assert int(wait.group(1)) == TARGETS, said[-3000:]
