"""CPU of the daemon's result writes: first sightings and rechecks (issue 16).

  .venv/bin/python bench/result_writes.py [--targets 100000] [--rounds 3]
      [--against NAME=PATH ...]

Fills a SQLite database with --targets active targets (as bench/daemon_claims.py
does), then claims them in batches and writes their results through
`Repository.record` in random order, 250 a transaction, as the daemon's writer
does: once as first sightings (state unknown → up) and --rounds times as
rechecks that change nothing the status indexes hold. It prints the writer
thread's CPU per result (`time.thread_time`). `--against NAME=PATH` runs the
same measure with another tree first on PYTHONPATH (a `git worktree` of an
older commit), interleaved round by round with this one, so both see the same
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(targets: int, rechecks: int) -> dict[str, list[float]]:
    """One database, its first sightings and its rechecks: µs of CPU per result."""
    sys.path.insert(0, str(HERE))
    from sqlalchemy import text

    from monitor.daemon.state import State, TargetState
    from monitor.storage.engine import make_engine
    from monitor.storage.migrate import upgrade
    from monitor.storage.repository import CheckRecord, Repository, now_ms

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/am.db")
    upgrade(engine)
    repo = Repository(engine)
    columns = {c["name"] for c in __import__("sqlalchemy").inspect(engine).get_columns("targets")}
    flag = ", active" if "active" in columns else ""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO targets (id, url, kind, provider, state, fails, succs, next_due,"
                f" last_problems, bucket{flag}) VALUES (:i, :u, :k, :p, 'unknown', 0, 0, 0,"
                f" '', NULL{', 1' if flag else ''})"
            ),
            [
                {"i": i, "u": f"https://h{i % 50}.test/{i}", "k": "web" if i % 5 else "image",
                 "p": f"p{i % 500}.test"}
                for i in range(1, targets + 1)
            ],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO due_queue (due, target_id) VALUES (0, :i)"),
            [{"i": i} for i in range(1, targets + 1)],
        )
    up = TargetState(State.UP, 0, 1)
    out: dict[str, list[float]] = {"first": [], "recheck": []}
    for n in range(1 + rechecks):
        claims = []
        while True:
            got = repo.claim_due(now_ms() + 10**10, 1000, 600_000)
            if not got:
                break
            claims.extend(got)
        random.Random(n).shuffle(claims)
        started = time.thread_time()
        for lo in range(0, len(claims), 250):
            at = now_ms()
            repo.record(
                [
                    CheckRecord(c.id, c.lease, at, 0, "ok", 200, 20, (), c.state, up, at)
                    for c in claims[lo : lo + 250]
                ]
            )
        per = (time.thread_time() - started) / len(claims) * 1e6
        out["first" if n == 0 else "recheck"].append(per)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3, help="databases per tree, interleaved")
    ap.add_argument("--rechecks", type=int, default=2, help="recheck passes per database")
    ap.add_argument("--against", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.targets, args.rechecks)))
        return
    trees = [("this", str(HERE.parent))] + [tuple(a.split("=", 1)) for a in args.against]
    got: dict[str, dict[str, list[float]]] = {n: {"first": [], "recheck": []} for n, _ in trees}
    for _ in range(args.rounds):
        for name, path in trees:
            env = {**os.environ, "PYTHONPATH": path}
            line = subprocess.run(
                [sys.executable, __file__, "--one", "--targets", str(args.targets),
                 "--rechecks", str(args.rechecks)],
                env=env, cwd=tempfile.gettempdir(), check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            for key, values in json.loads(line).items():
                got[name][key].extend(values)
    load = os.getloadavg()[0]
    print(f"{args.targets:,} targets, results in random order, 250 a transaction; load {load:.1f}")
    print(f"{'tree':<12} {'first sighting µs/result':>26} {'recheck µs/result':>20}")
    for name, _ in trees:
        first, again = got[name]["first"], got[name]["recheck"]
        runs = f"{', '.join(f'{x:.0f}' for x in first)} | {', '.join(f'{x:.0f}' for x in again)}"
        print(
            f"{name:<12} {statistics.median(first):>26.1f} {statistics.median(again):>20.1f}"
            f"   (runs: {runs})"
        )


if __name__ == "__main__":
    main()
