"""A stop while PostgreSQL does not answer the daemon's statements: another
connection holds a lock on the table the statement needs, for as long as the
test lasts (a server that stopped answering mid-statement, as the daemon sees
it). The stop must end, say what it left behind, and exit as for other work
stuck past its bound.

Before: the first scan's task was awaited whole (its thread stuck in an
INSERT), the writer's ThreadPoolExecutor was shut down with wait=True (and
joined again at the interpreter's exit), `run --once`'s pass and the join's
first heartbeats waited for their statement, the settle waited for a claim
under way, and the cluster's leave ran on the loop's executor: each held the
stop until the lock went.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, LinkServer, wait_for
from sqlalchemy import Connection, Engine, text
from stop_harness import db_stop_config
from support.pg import lock_waits, pg_daemon_schema

# they wait out the stop's budgets against a database that does not answer (minutes
# in all): `make test-slow` (CI runs it after `make test`)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BOUND = 60  # seconds: a bound on a hang, never a timing


@pytest.fixture
def pg() -> Iterator[tuple[str, Engine]]:
    """A migrated schema of its own: its URL (password and all) and an engine."""
    yield from pg_daemon_schema()


def lock(conn: Connection, table: str, mode: str) -> None:
    """Writes to `table` (EXCLUSIVE), or reads too (ACCESS EXCLUSIVE), wait until
    the test's transaction ends."""
    conn.execute(text(f"LOCK TABLE {table} IN {mode} MODE"))


# (table held, `run` arguments, held from the start or once checking, what the
# stop names, the exit code, settings)
CASES: dict[str, tuple[str, list[str], bool, str, int, dict[str, Any]]] = {
    "first scan": ("documents", ["--once"], True, "(rescan)", 1, {}),
    "writer": ("check_results", [], True, "(db-writer)", 0, {}),
    "once claim": ("leases", ["--once"], True, "(db-writer)", 1, {}),
    # the stop's one warning names the leave given up on the same table too
    "join": ("cluster_members", [], True, "(cluster leave, heartbeat)", 0, {}),
    "leave": ("cluster_members", [], False, "could not leave the cluster", 0, {}),
    # the leader's rescan of a shared corpus, after the join, behind the first scan
    "shared rescan": ("documents", [], True, "(rescan)", 0, {"corpus_shared": True}),
    # the soft-404 probe's kept answers, read before the join
    "probe answers": ("probe_answers", [], True, "(db-writer)", 0, {"soft_404_probe": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_stop_ends_while_the_database_does_not_answer(
    tmp_path: Path, pg: tuple[str, Engine], case: str
) -> None:
    table, args, from_start, named, exit_code, extra = CASES[case]
    mode = "ACCESS EXCLUSIVE" if case == "probe answers" else "EXCLUSIVE"
    url, engine = pg
    with LinkServer() as site, engine.connect() as holder:
        cfg = db_stop_config(tmp_path, site, url, articles=4, **extra)
        holder.begin()
        if from_start:
            lock(holder, table, mode)
        daemon = DaemonProcess(cfg, *args)
        try:
            if not from_start:
                wait_for(lambda: "scheduler running" in daemon.text(), BOUND, what=daemon.text)
                lock(holder, table, mode)
            wait_for(lambda: lock_waits(engine, daemon.app_name, table), BOUND, what=daemon.text)
            code = daemon.stopped(
                BOUND, f" while {table} was locked"
            )  # before: held until the lock went
        finally:
            holder.rollback()
            daemon.kill()
    text_ = daemon.text()
    assert code == exit_code, text_
    assert named in text_, text_
    assert "Traceback" not in text_
    if exit_code:
        assert "Error: " in text_
