"""A stop while a checker process is being replaced (hostile review of the stop
path): a process killed (SIGKILL, the OOM killer) has its checks tried again,
held for the process started in its place a second later. A SIGTERM in that
second made the stop raise ValueError (exit 70, a traceback, every lease left
held), and once that was mended the held retries still went to the replacement
after the stop (60 requests after SIGTERM at concurrency 16). Now nothing is sent
after the stop, every claim is given back, and the next pass checks exactly
what was left.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, query, wait_for, write_config

BOUND = 90  # seconds: a bound on a hang, never a timing
CONCURRENCY = 16
ARTICLES = 1500


def _starts(site: LinkServer) -> int:
    with site.lock:
        return sum(len(times) for times in site.starts.values())


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry.name))
    return out


def _corpus(tmp: Path) -> None:
    lines = [
        json.dumps(
            {
                "webUrl": f"http://h{n % 8}.test/{n}/",
                "title": "t",
                "provider": {"name": "News", "domain": f"h{n % 8}.test"},
            }
        )
        for n in range(ARTICLES)
    ]
    (tmp / "corpus" / "all.jsonl").write_text("\n".join(lines) + "\n")


def test_a_stop_just_after_a_checker_process_died_sends_nothing_and_gives_all_back(
    tmp_path: Path,
) -> None:
    with LinkServer(pause=0.3) as site:
        cfg = write_config(
            tmp_path,
            site.port,
            connect_to=[f":80:127.0.0.1:{site.port}"],
            concurrency=CONCURRENCY,
            per_host=4,
            workers=2,
            interval=3600.0,
            timeout=60.0,
            lease_seconds=120.0,
            shutdown_grace=3.0,
        )
        _corpus(tmp_path)
        daemon = DaemonProcess(cfg, "--once")
        try:
            wait_for(lambda: _starts(site) >= 100, BOUND, what=daemon.text)
            workers = _children(daemon.proc.pid)
            assert len(workers) == 2, workers
            os.kill(min(workers), signal.SIGKILL)
            # its replacement starts a second after the death is seen: the stop
            # comes in that second (its checks' retries held for the replacement)
            wait_for(lambda: "ended (exit status -9)" in daemon.text(), BOUND, what=daemon.text)
            at_stop = _starts(site)
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
        after = _starts(site) - at_stop
        text = daemon.text()
        assert code == 1, text  # stopped before every due target was checked
        assert "Traceback" not in text and "failed unexpectedly" not in text, text
        assert after <= CONCURRENCY, f"{after} requests started after SIGTERM"
        db = tmp_path / "data" / "article-monitor.db"
        assert query(db, "select count(*) from leases") == [(0,)]  # every claim given back

        site.pause = 0.0
        again = DaemonProcess(cfg, "--once")
        try:
            assert again.wait(BOUND) == 0, again.text()
        finally:
            again.kill()
    # each target checked and recorded once over the two passes: nothing recorded
    # twice, nothing left
    assert query(db, "select count(*), count(distinct target_id) from check_results") == [
        (ARTICLES, ARTICLES)
    ]
    assert query(db, "select count(*) from leases") == [(0,)]


@pytest.mark.parametrize(
    ("sig", "once"), [(signal.SIGINT, False), (signal.SIGTERM, True)], ids=["run-int", "once-term"]
)
def test_a_stop_signal_to_one_checker_process_alone_stops_the_daemon(
    tmp_path: Path, sig: signal.Signals, once: bool
) -> None:
    """`kill <checker pid>`: the process passes the signal on to the daemon, which
    owns the run and stops as if signalled itself (run: exit 0; --once cut short:
    1); the process starts none of its queued requests meanwhile, the daemon
    gives their targets back, and nothing is said to have failed."""
    with LinkServer(pause=0.3) as site:
        cfg = write_config(
            tmp_path,
            site.port,
            connect_to=[f":80:127.0.0.1:{site.port}"],
            concurrency=CONCURRENCY,
            per_host=4,
            workers=2,
            interval=3600.0,
            timeout=60.0,
            lease_seconds=120.0,
            shutdown_grace=3.0,
        )
        _corpus(tmp_path)
        daemon = DaemonProcess(cfg, *(["--once"] if once else []))
        try:
            wait_for(lambda: _starts(site) >= 100, BOUND, what=daemon.text)
            workers = _children(daemon.proc.pid)
            assert len(workers) == 2, workers
            at_stop = _starts(site)
            os.kill(min(workers), sig)
            code = daemon.wait(BOUND)
        finally:
            daemon.kill()
        after = _starts(site) - at_stop
    text = daemon.text()
    assert code == (1 if once else 0), text
    assert "Traceback" not in text and "failed unexpectedly" not in text, text
    assert "ended (exit status" not in text, text  # no process died: it was stopped
    assert after <= CONCURRENCY, f"{after} requests started after the signal"
    db = tmp_path / "data" / "article-monitor.db"
    assert query(db, "select count(*) from leases") == [(0,)]
