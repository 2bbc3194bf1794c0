"""A signal that lands in the last of a stop's waits (the first scan's end, the
cluster leave, the database work still under way) is the daemon's as during the
rest of the stop: ignored, the stop bounded. The daemon gave its handlers back
first, so such a signal reached the command's own and exited 130, "cut short",
from a `run --once` whose pass had ended with every result recorded."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import Engine, text
from stop_harness import db_stop_config
from support.pg import lock_waits, pg_daemon_schema

pytestmark = pytest.mark.postgres

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    yield from pg_daemon_schema()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_the_leave_of_a_finished_pass_is_ignored(
    tmp_path: Path, pg: tuple[str, Engine], sig: signal.Signals
) -> None:
    """SIGHUP too: a reload during the stop has nothing to do."""
    url, engine = pg
    with LinkServer(pause=0.3) as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, cluster_heartbeat=0.2)
        daemon = DaemonProcess(cfg, "--once")
        try:
            wait_for(lambda: site.url_hits, BOUND, what=daemon.text)
            holder.begin()
            holder.execute(text("LOCK TABLE cluster_members IN EXCLUSIVE MODE"))
            app = daemon.app_name
            wait_for(lambda: lock_waits(engine, app, "cluster_members"), BOUND, what=daemon.text)
            # the pass ends; the stop gives the stuck beat up, then tries to leave:
            # the leave's statement waits beside the beat's (the warning that gave
            # the beat up comes at the stop's end now, naming the leave too)
            # (the daemon's sessions alone: every ungranted lock of the server counted
            # other tests' waits too, and the signal came before the pass had ended)
            wait_for(lambda: len(lock_waits(engine, app)) > 1, BOUND, what=daemon.text)
            daemon.signal(sig)
            code = daemon.wait(BOUND)
        finally:
            holder.rollback()
            daemon.kill()
    out = daemon.text()
    assert "Traceback" not in out, out
    assert code == 0, out  # every result recorded: not "cut short" (130)
    assert "could not leave the cluster" in out, out
    assert "configuration reloaded" not in out, out
