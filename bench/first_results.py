"""Benchmark: claims and result writes of a first start, alone (issue 16, the parent of
`run --once` on a fresh database).

Writes daemon_vs_check.py's corpus (N records, 5 URLs each, 50 hosts), runs the
daemon's first scan on it into a fresh SQLite file, then claims every target
(`claim_due`, `--claim` at a time) and writes each one's first result
(`record`, unknown -> up, a text mark for the pages, `--batch` a transaction),
as the daemon's database thread does, in a child process per run: the thread's
CPU per target of the claims and of the writes (`time.thread_time`). No
network. `--tree LABEL=DIR` (repeatable) runs the package at DIR (a `git
worktree`) in the same rounds, interleaved; medians.

`--callgrind` counts instructions instead (valgrind): each tree's child once
with the claims and writes and once with the scan alone, the difference per
target. The machine's load does not change it (other work on the 2 cores moved
the CPU figures by 10-20% between rounds). Usage:

    .venv/bin/python bench/first_results.py --records 10000 --rounds 5 --tree base=/tmp/base
    .venv/bin/python bench/first_results.py --records 1000 --callgrind --tree base=/tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, random, sys, tempfile, time
from pathlib import Path
from monitor.config import Settings
from monitor.content.simhash import PageMark
from monitor.daemon.scan import CorpusScanner
from monitor.daemon.state import State, TargetState
from monitor.secured.keys import KeyRing
from monitor.storage import migrate
from monitor.storage.opening import open_database
from monitor.storage.repository import CheckRecord, Repository

corpus, claim, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = Path(tempfile.mkdtemp(prefix="first_results.")) / "m.db"
engine = open_database(f"sqlite:///{db}", create=True)
migrate.upgrade(engine)
repo = Repository(engine)
CorpusScanner(repo, Settings(paths=[corpus]), KeyRing([])).scan()
n = claims = writes = 0
if claim:
    rng = random.Random(1)
    now = int(time.time() * 1000) + 10_000
    up = TargetState(State.UP, 0, 1)
    pending = []

    def write(rows):
        global writes
        start = time.thread_time()
        repo.record(rows)
        writes += time.thread_time() - start

    while True:
        start = time.thread_time()
        got = repo.claim_due(now, claim, 600_000)
        claims += time.thread_time() - start
        if not got:
            break
        for c in got:
            page = None
            if c.kind.value in ("web", "amp"):
                page = PageMark(rng.getrandbits(64), "0123456789abcdef", 3)
            pending.append(
                CheckRecord(c.id, c.lease, now, 1, "ok", 200, 20, (), c.state, up,
                            now + 3_600_000, page)
            )
            n += 1
        while len(pending) >= batch:
            write(pending[:batch])
            del pending[:batch]
    if pending:
        write(pending)
print(json.dumps({"n": n, "claims": claims, "writes": writes}))
"""


def instructions(out: Path) -> int:
    text = out.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if found is None:
        raise SystemExit(f"no instruction count in {out}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="x5 URLs [10000]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--claim", type=int, default=290, help="targets a claim [290]")
    parser.add_argument("--batch", type=int, default=500, help="results a write [500]")
    parser.add_argument("--tree", action="append", default=[], help="LABEL=DIR (repeatable)")
    parser.add_argument("--callgrind", action="store_true", help="instructions (valgrind)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import check_vs_lychee as cvl

    work = Path(tempfile.mkdtemp(prefix="first_results."))
    corpus = work / "once.jsonl"
    hosts = [cvl.host_name(f"127.0.0.{i}") for i in range(1, 51)]
    records = cvl.make_corpus(args.records, 8080, hosts)
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    (work / "child.py").write_text(CHILD)
    trees = [("this", str(ROOT))] + [(t.split("=", 1)[0], t.split("=", 1)[1]) for t in args.tree]

    def child(tree: str, claim: int, prefix: list[str]) -> dict[str, float]:
        env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve()), "PYTHONHASHSEED": "0"}
        argv = [*prefix, sys.executable, str(work / "child.py"), str(corpus)]
        argv += [str(claim), str(args.batch)]
        out = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True, timeout=3600)
        if out.returncode:
            sys.stderr.write(out.stderr[-3000:])
            raise SystemExit(1)
        return dict(json.loads(out.stdout.splitlines()[-1]))

    if args.callgrind:
        for label, tree in trees:
            counts = []
            for claim in (args.claim, 0):
                cg = work / f"cg.{label}.{claim}"
                child(tree, claim, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}"])
                counts.append(instructions(cg))
            n = args.records * 5
            print(
                f"{label:>8}: claims and writes {(counts[0] - counts[1]) / n / 1e3:.1f} thousand"
                f" instructions a target ({n} targets; scan alone {counts[1] / 1e6:,.0f} M)",
                flush=True,
            )
        return 0
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
    for _ in range(args.rounds):
        for label, tree in trees:
            got = child(tree, args.claim, [])
            runs[label].append(got)
            print(
                f"  {label:>8}: claims {got['claims'] / got['n'] * 1e6:5.1f} us a target,"
                f" writes {got['writes'] / got['n'] * 1e6:5.1f} us a result",
                flush=True,
            )
    print(f"medians over {args.rounds} rounds; load {os.getloadavg()}")
    for label, got in runs.items():
        claims = statistics.median(r["claims"] / r["n"] * 1e6 for r in got)
        writes = statistics.median(r["writes"] / r["n"] * 1e6 for r in got)
        print(f"{label:>8}: claims {claims:.1f} us a target, writes {writes:.1f} us a result")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
