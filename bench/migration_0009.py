"""Benchmark: migration 0009 (placement buckets by host key) on N targets, a
fraction of them on Unicode hosts (their bucket moves), all queued.

Seeds a SQLite file at revision 0008, then reads the process CPU of `upgrade`.
Usage: .venv/bin/python bench/migration_0009.py 32000 0.5
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from monitor.daemon.placement import BUCKETS, _h64
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade


def old_bucket(host: str) -> int:
    return _h64("host:" + host.strip("[]").rstrip(".").lower()) % BUCKETS


def main() -> None:
    n, share = int(sys.argv[1]), float(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'b.db'}")
        upgrade(engine, "0008")
        rows = []
        for i in range(1, n + 1):
            moved = (i % 1000) < share * 1000
            host = f"bücher{i % 997}.example" if moved else f"news{i % 997}.example"
            rows.append({"i": i, "u": f"http://{host}/{i}", "b": old_bucket(host), "d": i})
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, state, fails, succs, next_due, bucket,"
                    " last_problems) VALUES (:i, :u, 'web', 'unknown', 0, 0, :d, :b, '')"
                ),
                rows,
            )
            queue = text("INSERT INTO due_queue (due, target_id, bucket) VALUES (:d, :i, :b)")
            conn.execute(queue, rows)
        cpu = time.process_time()
        upgrade(engine)
        print(f"{n} targets, {share:.0%} moved: {time.process_time() - cpu:.2f} CPU-s")
        engine.dispose()


if __name__ == "__main__":
    main()
