"""Benchmark: CPU per claimed target of the queue's claims, trees A/B (issue 16).

Each tree (`--tree NAME=DIR`, run by PYTHONPATH in a child process, interleaved
over rounds) claims 20,000 due targets of a fresh SQLite database in claims of
`--batch` (the daemon's claims are `concurrency` targets, 128 in the brief's
command) and reports the claims' CPU (`time.thread_time`) per target.
No network. Usage:

    .venv/bin/python bench/daemon_claim_cpu.py --tree base=/tmp/base --tree new=. --rounds 3
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trees import parse_trees, print_medians, run_trees

CHILD = r"""
import sys, time, tempfile
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DUE, TARGETS, Repository
n, batch = int(sys.argv[1]), int(sys.argv[2])
engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/am.db")
upgrade(engine)
with engine.begin() as conn:
    conn.execute(TARGETS.insert(), [
        {"id": i, "url": f"https://h{i % 50}.test/{i}", "kind": "web", "next_due": 0, "active": 1}
        for i in range(1, n + 1)])
    due = [{"due": 0, "target_id": i, "bucket": None} for i in range(1, n + 1)]
    conn.execute(DUE.insert(), due)
repo = Repository(engine)
got, start = 0, time.thread_time()
while got < n:
    got += len(repo.claim_due(1_000_000 + got, batch, 60_000))
print((time.thread_time() - start) / n * 1e6)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--tree", action="append", default=[], help="NAME=DIR (repeatable)")
    ap.add_argument("--targets", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trees = parse_trees(args.tree)
    figures = run_trees(trees, args.rounds, CHILD, [str(args.targets), str(args.batch)])
    print(f"claims of {args.batch}, {args.targets} targets; load {os.getloadavg()}")
    print_medians(figures, "us per claimed target", 1)


if __name__ == "__main__":
    main()
