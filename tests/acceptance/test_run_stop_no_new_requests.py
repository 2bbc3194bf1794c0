"""No request leaves a checker process after a stop (issue 16, hostile review).

`run` with checker processes holds up to 16x `concurrency` checks queued in them.
A stop cancels the queued ones, but each process paused its stdin once it held a
few rounds of targets, so the cancels waited in the pipe behind request frames:
the process went on starting queued requests, one per check that ended, for the
whole shutdown grace (1,216 after SIGTERM at concurrency 1024). A process now
reads every frame as it arrives, and a cancel applies at once.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, wait_for, write_config
from stop_harness import jsonl_corpus, started, stop_config

BOUND = 90  # seconds: a bound on a hang, never a timing
CONCURRENCY = 64
HUNG = 4  # checks the server never answers: the stop waits its whole grace for them


@pytest.mark.parametrize("to_group", [False, True], ids=["to-the-daemon", "to-the-group"])
def test_a_stop_lets_no_queued_request_out_of_the_checker_processes(
    tmp_path: Path, to_group: bool
) -> None:
    """To the group (systemd's default, a terminal's Ctrl-C) the checker processes
    see the signal too and skip their queued requests; the daemon gives those
    targets back, counts none of them failed, and exits as any cut-short pass."""
    # slow answers (each check 0.3 s) keep every checker busy and its queue full;
    # the hung checks hold the stop for its whole grace, in which the processes
    # went on through their queues
    with LinkServer(pause=0.3, hang=True) as site:
        cfg = stop_config(
            tmp_path,
            site,
            concurrency=CONCURRENCY,
            per_host=16,
            connect_to=[f"hang.test:81:127.0.0.1:{site.hang_port}", f":80:127.0.0.1:{site.port}"],
        )
        jsonl_corpus(tmp_path, 4000, hosts=32, hung=HUNG)
        daemon = DaemonProcess(cfg, "--once", group=to_group)
        try:
            # running long enough that the pace is known and the queues are deep
            wait_for(lambda: site.hung >= HUNG and started(site) >= 600, BOUND, what=daemon.text)
            at_stop = started(site)
            (daemon.signal_group if to_group else daemon.signal)(signal.SIGTERM)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
        after = started(site) - at_stop
    text = daemon.text()
    assert code == 1, text  # stopped before every due target was checked
    assert "Traceback" not in text and "failed unexpectedly" not in text, text
    # at most `concurrency` requests were in flight or being connected at the
    # signal, and each may still reach the server; none may start beyond those
    # (before the fix: several hundred, one per check that ended in the grace)
    assert after <= CONCURRENCY, f"{after} requests started after SIGTERM"


def test_check_cut_short_stops_its_processes_requests_too(tmp_path: Path) -> None:
    """`check` runs the same checker processes (their input held back, not read
    whole: its targets are never cancelled) and stops them at once: no request
    starts beyond those in flight at the signal; exit 130 with a partial report."""
    with LinkServer(pause=0.3) as site:
        cfg = write_config(
            tmp_path,
            site.port,
            connect_to=[f":80:127.0.0.1:{site.port}"],
            concurrency=CONCURRENCY,
            per_host=16,
            workers=2,
            timeout=60.0,
        )
        jsonl_corpus(tmp_path, 3000, hosts=32)
        out = tmp_path / "report.json"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                [CLI, "check", str(tmp_path / "corpus"), "--config", str(cfg), "--format", "json"],
                stdout=sink,
                stderr=subprocess.PIPE,
            )
            try:
                wait_for(lambda: started(site) >= 300, BOUND)
                at_stop = started(site)
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=BOUND)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        after = started(site) - at_stop
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    report = json.loads(out.read_text())
    assert report["summary"]["incomplete"] is True
    assert after <= CONCURRENCY, f"{after} requests started after SIGTERM"
