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
from support.pg import pg_daemon_schema

pytestmark = pytest.mark.postgres

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    yield from pg_daemon_schema()


def beats_waiting(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = CAST('cluster_members' AS regclass)"
                )
            )
            or 0
        )


def statements_waiting(engine: Engine, holder: int) -> int:
    """The daemon's statements waiting for the test's lock (held by backend
    `holder`), or behind one that does (the leave waits for the leader's row,
    which the stuck beat updated). Counted through pg_blocking_pids from the
    holder: every ungranted lock of the server counted other tests' waits too,
    and the signal then came before the pass had ended (exit 1, 1 run in 3
    beside another test of this file)."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "WITH RECURSIVE blocked(pid) AS ("
                    " SELECT pid FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
                    " UNION SELECT a.pid FROM pg_stat_activity a JOIN blocked b"
                    " ON b.pid = ANY(pg_blocking_pids(a.pid)))"
                    " SELECT count(*) FROM blocked"
                ),
                {"holder": holder},
            )
            or 0
        )


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
            holder_pid = int(holder.scalar(text("SELECT pg_backend_pid()")) or 0)
            wait_for(lambda: beats_waiting(engine) > 0, BOUND, what=daemon.text)
            # the pass ends; the stop gives the stuck beat up, then tries to leave:
            # the leave's statement waits beside the beat's (the warning that gave
            # the beat up comes at the stop's end now, naming the leave too)
            wait_for(lambda: statements_waiting(engine, holder_pid) > 1, BOUND, what=daemon.text)
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
