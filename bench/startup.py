"""Benchmark: the fixed cost of `article-monitor check` (start-up before the first request).

Runs `check` of a tiny corpus (default: 1 record, 5 URLs) against the loopback
web simulator, once per tree per round, the trees interleaved (the installed
package and any `--against NAME=DIR`, e.g. a `git worktree` of an older
commit), and prints each tree's median CPU (user+system of the process and its
children, from wait4) and wall time. With a corpus this small, nearly all of it
is the interpreter's start, the imports, the settings and the report: the cost
every `check` pays before and beside its first request.

All traffic goes to 127.0.0.0/8; the simulator stops by itself. Usage:

    .venv/bin/python bench/startup.py --rounds 10 --against base=/tmp/base-startup
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402

TIMEOUT_S = 60.0


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(CPU seconds of the process tree, wall seconds, exit status) of one run.

    Run from `cwd`, a folder with no package in it: `python -c` puts the
    working directory first on sys.path, before PYTHONPATH's tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = start + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return usage.ru_utime + usage.ru_stime, wall, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1, help="records of 5 URLs [1]")
    parser.add_argument("--rounds", type=int, default=10, help="runs of each tree [10]")
    parser.add_argument(
        "--against", action="append", default=[], metavar="NAME=DIR", help="another tree"
    )
    parser.add_argument("--format", default="json", help="report format [json]")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="compile each tree's modules first, as installing a wheel does",
    )
    args = parser.parse_args()
    if args.bytecode:
        cvl.compile_trees([cvl.ROOT, *(Path(s.partition("=")[2]) for s in args.against)])

    work = Path(tempfile.mkdtemp(prefix="startup."))
    budget = 60 + args.rounds * (1 + len(args.against)) * TIMEOUT_S
    sim, banner = cvl.start_simulator(1, budget, "auto", "small", 0.0)
    try:
        port, hosts = banner["port"], banner["hosts"]
        named = cvl.make_corpus(args.records, port, [cvl.host_name(h) for h in hosts])
        corpus = work / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(rec) + "\n" for rec in named))
        check = ["check", str(corpus), "--format", args.format, "-o", str(work / "out")]
        check += ["--allow-network", "127.0.0.0/8", "--retries", "0", "--data-dir", str(work)]
        for h in hosts:
            check += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        trees: list[tuple[str, list[str], dict[str, str]]] = [
            ("installed", [sys.executable, "-c", cvl.TREE_CLI, *check], {})
        ]
        for spec in args.against:
            name, _, tree = spec.partition("=")
            env = {"PYTHONPATH": str(Path(tree).resolve())}
            trees.append((name, [sys.executable, "-c", cvl.TREE_CLI, *check], env))
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in trees}
        wall: dict[str, list[float]] = {name: [] for name, _, _ in trees}
        for _ in range(args.rounds):
            for name, argv, env in trees:
                c, w, rc = run_once(argv, env, work)
                if rc not in (0, 1):
                    print(f"  {name}: exit {rc}")
                cpu[name].append(c)
                wall[name].append(w)
        print(f"# check of {args.records} record(s), {args.rounds} interleaved rounds")
        print(f"{'tree':<12} {'CPU ms (median)':>16} {'min':>7} {'max':>7} {'wall ms':>8}")
        for name, _, _ in trees:
            print(
                f"{name:<12} {statistics.median(cpu[name]) * 1e3:>16.0f} "
                f"{min(cpu[name]) * 1e3:>7.0f} {max(cpu[name]) * 1e3:>7.0f} "
                f"{statistics.median(wall[name]) * 1e3:>8.0f}"
            )
    finally:
        cvl.stop_simulator(sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
