"""Benchmark: the dispatcher's CPU per check with checker processes, trees A/B
(issue 16).

Each tree (`--tree NAME=DIR`, run by PYTHONPATH in a child process,
interleaved over rounds) drives its `Dispatcher` over a `ProcessChecker`
stand-in whose checks are answered on the next turn of the loop, with claims
of 128 from an in-memory queue, and reports the CPU (`time.thread_time`) per
check of claiming, starting, delivering and finishing (no database, no
network, no processes). Usage:

    .venv/bin/python bench/daemon_dispatch_cpu.py --tree base=/tmp/base --tree new=. --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trees import parse_trees, print_medians, run_trees

CHILD = r"""
import asyncio, sys, time
from datetime import UTC, datetime
from monitor.config import Settings
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

n = int(sys.argv[1])
AT = datetime.now(UTC)

class Answering(ProcessChecker):
    def submit(self, url, kind):
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(
            future.set_result, CheckResult(url, kind, Outcome.OK, AT))
        return future
    async def check(self, url, kind):
        return await self.submit(url, kind)

class Repo:
    def __init__(self):
        self.next = 0
    def claim_due(self, now, want, lease, buckets):
        take = min(want, n - self.next)
        out = [Claimed(i, f"http://h{i % 50}.test/{i}", Kind.WEB, TargetState(), 1, ())
               for i in range(self.next, self.next + take)]
        self.next += take
        return out

class Writer:
    backlog = 0

async def main():
    s = Settings(concurrency=128)
    done = [0]
    async def db(fn, *args):
        return fn(*args)
    d = Dispatcher(settings=lambda: s, repo=Repo(), db=db, writer=Writer(),
                   finish=lambda c, r: done.__setitem__(0, done[0] + 1),
                   db_failed=str, spawn=lambda coro, name: coro.close())
    d.checker = Answering(s, 1)
    start = time.thread_time()
    while done[0] < n:
        await d.dispatch(cutoff=0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    print((time.thread_time() - start) / n * 1e6)

asyncio.run(main())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--tree", action="append", default=[], help="NAME=DIR (repeatable)")
    ap.add_argument("--checks", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    trees = parse_trees(args.tree)
    figures = run_trees(trees, args.rounds, CHILD, [str(args.checks)])
    print(f"{args.checks} checks, claims of 128; load {os.getloadavg()}")
    print_medians(figures, "us per check", 2)


if __name__ == "__main__":
    main()
