"""A stop while the whole PostgreSQL server is frozen (SIGSTOP), at the default
`shutdown_grace`: the stop ends within the stop timeout of the shipped units
(deploy/systemd's TimeoutStopSec=30s, deploy/kubernetes'
terminationGracePeriodSeconds: 30), not by their SIGKILL.

Each of the stop's waits for the database was bounded on its own (the settle,
then the drain, the first scan's thread, the heartbeat's, the leave, the
snapshots started meanwhile), and on a server that answered nothing they added
up: ~57 s at the defaults. They now share one budget, `shutdown_grace` plus the
drain bound (~20 s here), from the stop.

A server of the module's own: freezing the suite's shared one would stall the
other worker's tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, wait_for, write_config
from sqlalchemy import text
from support.private_pg import private_server

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade

# they wait out the stop's budgets against a database that does not answer (minutes
# in all): `make test-slow` (CI runs it after `make test`)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHIPPED_STOP_TIMEOUT = 30  # seconds: what systemd and Kubernetes allow, as shipped


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with private_server() as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url


def server_processes(url: str) -> list[int]:
    """The postmaster and every process it started (the daemon's backends too)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            data = str(conn.scalar(text("SHOW data_directory")))
    finally:
        engine.dispose()
    postmaster = int((Path(data) / "postmaster.pid").read_text().split()[0])
    children = [pid for pid in all_pids() if parent_of(pid) == postmaster]
    return [postmaster, *children]


def signal_if_there(pid: int, sig: signal.Signals) -> None:
    """A server's worker may end between the listing and the signal (autovacuum's)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_a_stop_on_a_frozen_server_ends_within_the_shipped_stop_timeout(
    tmp_path: Path, server: str
) -> None:
    with LinkServer() as site:
        cfg = write_config(
            tmp_path,
            site.port,
            db=server,
            shutdown_grace=10.0,  # the default
            lease_seconds=60.0,
            interval=0.05,
            retry_interval=0.05,
        )
        for i in range(30):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        daemon = DaemonProcess(cfg)
        frozen: list[int] = []
        try:
            wait_for(lambda: "scheduler running" in daemon.text(), 60, what=daemon.text)
            wait_for(lambda: site.hits > 30, 60, what=daemon.text)  # checking, writing
            frozen = server_processes(server)
            for pid in frozen:
                signal_if_there(pid, signal.SIGSTOP)
            daemon.signal(signal.SIGTERM)
            try:
                code = daemon.wait(SHIPPED_STOP_TIMEOUT)  # before: ~57 s
            except subprocess.TimeoutExpired:
                pytest.fail(f"the stop outlasted the shipped stop timeout:\n{daemon.text()}")
        finally:
            for pid in frozen:
                signal_if_there(pid, signal.SIGCONT)
            daemon.kill()
    out = daemon.text()
    assert code == 0, out
    assert "INFO    monitor.daemon: stopped" in out, out
    assert "Traceback" not in out
