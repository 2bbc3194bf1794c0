"""Benchmark: the daemon parent's CPU per check in `ProcessChecker` itself, trees A/B.

Each tree (`--tree NAME=DIR`, run by PYTHONPATH in a child process,
interleaved over rounds) submits N checks to its `ProcessChecker` over two
stand-in processes whose writes are discarded (the frames are still built),
then hands it the results in batches of 512, keyed as that tree's pipe keys
them (by URL before request ids, by id after), and reads the CPU
(`time.thread_time`) per check of submitting, flushing, delivering and the
futures' callbacks (one per check, as the dispatcher adds). No network, no
processes. Usage:

    .venv/bin/python bench/checker_parent.py --tree base=/tmp/base --tree new=. --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trees import parse_trees, print_medians, run_trees

CHILD = r"""
import asyncio, gc, inspect, statistics, sys, time
from datetime import UTC, datetime
from monitor.config import Settings
from monitor.check.processes import WorkerPool, host_owner
from monitor.daemon.checkers import ProcessChecker
from monitor.vocabulary import CheckResult, Kind, Outcome

n = int(sys.argv[1])

class Sink:
    cancelled = []
    held_new = {}  # no host held: what a process tells of its holds (pipe.py)
    holds = {}
    deferred = {}  # nor a request given back for a host's hold

    def send(self, data, targets=0):
        pass

async def once():
    s = Settings()
    c = ProcessChecker(s, 2)
    pool = WorkerPool(s, 2, local=False)
    pool.channels = [Sink(), Sink()]
    c._pool = pool
    by_id = not inspect.iscoroutinefunction(c._deliver)  # the tree's own delivery
    if by_id:
        c._live = [True, True]
    urls = [f"http://h{i % 50}.test/p/{i}" for i in range(n)]
    at = datetime.now(UTC)
    results = [CheckResult(u, Kind.WEB, Outcome.OK, at) for u in urls]
    keys = [i * 2 + host_owner(u, 2, parent_weight=0.0) for i, u in enumerate(urls)]
    batches = [
        list(zip((keys if by_id else urls)[i : i + 512], results[i : i + 512]))
        for i in range(0, n, 512)
    ]
    calls = [0]
    def finished(future):
        calls[0] += 1
    gc.collect()
    start = time.thread_time()
    for u in urls:
        c.submit(u, Kind.WEB).add_done_callback(finished)
    await asyncio.sleep(0)  # the flush
    if by_id:
        pool.inbox.extend(batches)
        c._deliver(pool)
    else:
        async def arriving():
            for batch in batches:
                yield batch
        await c._deliver(arriving())
    await asyncio.sleep(0)  # the futures' callbacks
    took = time.thread_time() - start
    assert calls[0] == n
    return took / n * 1e6

print(statistics.median(asyncio.run(once()) for _ in range(5)))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--tree", action="append", default=[], help="NAME=DIR (repeatable)")
    ap.add_argument("--checks", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    trees = parse_trees(args.tree)
    figures = run_trees(trees, args.rounds, CHILD, [str(args.checks)])
    print(f"{args.checks} checks, 2 stand-in processes; load {os.getloadavg()}")
    print_medians(figures, "us per check", 2)


if __name__ == "__main__":
    main()
