"""Longest write transaction of a first purge after `retention_days` was lowered.

Usage: python bench/purge_first_run.py TARGETS RESULTS_PER_TARGET (a temporary
SQLite file). A/B: run it with PYTHONPATH set to a worktree of the commit before.
CPU time (thread_time) of each write transaction, begin to commit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DAY_MS, Repository


def main(targets: int, per: int) -> None:
    path = Path(tempfile.mkdtemp()) / "am.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    repo = Repository(engine)
    now = 400 * DAY_MS
    insert = text("INSERT INTO check_results (target_id, checked_at, outcome) VALUES (:t, :at, 0)")
    with engine.begin() as conn:
        for t in range(targets):
            conn.execute(
                insert,
                [{"t": t, "at": now - 20 * DAY_MS + i * 60_000} for i in range(per)],
            )
    repo.max_target_id = lambda: targets  # type: ignore[method-assign]  # no target rows
    spans: list[float] = []
    start: dict[str, float] = {}

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        start["t"] = time.thread_time()

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        spans.append(time.thread_time() - start.pop("t"))

    cpu = time.thread_time()
    deleted = repo.purge_results(now - DAY_MS)
    cpu = time.thread_time() - cpu
    spans.sort()
    print(
        f"deleted={deleted} transactions={len(spans)} total_cpu_s={cpu:.3f} "
        f"longest_cpu_s={spans[-1]:.3f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
