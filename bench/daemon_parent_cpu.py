"""Benchmark: the daemon parent's own CPU per check, `run --once`, trees A/B (issue 16).

The daemon's parent (claims, decisions, result writes, metrics, the pipe to
its checker processes) shares the machine's cores with its checkers and the
simulator, so its CPU per check is what costs checks on a busy machine. This
runs `run --once` on a fresh SQLite database over a corpus of N records (5
URLs each) against bench/websim.py, once per tree and round, interleaved, and
reads the parent's own CPU (`RUSAGE_SELF` at its exit, written by a wrapper)
beside the whole tree's (wait4). Loopback only. Usage:

    .venv/bin/python bench/daemon_parent_cpu.py --records 2000 --repeat 3 \
        --tree base=/tmp/base-tree --tree new=.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402

# runs `python -m monitor ARGS...`, then writes its own CPU (not its children's)
WRAPPER = """
import atexit, json, resource, runpy, sys
out = sys.argv.pop(1)
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w") as f:
        json.dump({"cpu": u.ru_utime + u.ru_stime}, f)
atexit.register(cpu)
sys.argv[0] = "article-monitor"
runpy.run_module("monitor", run_name="__main__", alter_sys=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=2000, help="x5 URLs [2000]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="NAME=DIR (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--env", action="append", default=[], help="VAR=VALUE for the daemon")
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.tree] or [["here", str(HERE.parent)]]
    work = Path(tempfile.mkdtemp(prefix="daemon_parent_cpu."))
    sim, banner = cvl.start_simulator(1, 3600, "auto", "small", args.latency_ms)
    try:
        port, hosts = banner["port"], banner["hosts"]
        corpus = cvl.make_corpus(args.records, port, [cvl.host_name(h) for h in hosts])
        (work / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
        n = len(cvl.corpus_urls(corpus))
        common = ["--allow-network", "127.0.0.0/8", "--concurrency", "128", "--per-host", "8"]
        common += ["--retries", "0", "--timeout", "20", "--listen", "127.0.0.1:0"]
        for h in hosts:
            common += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in trees}
        print(f"# {n} targets, `run --once`, trees {[name for name, _ in trees]}", flush=True)
        for rnd in range(args.repeat):
            for name, tree in trees:
                data = work / f"db-{name}"
                shutil.rmtree(data, ignore_errors=True)
                out = work / f"cpu-{name}.json"
                env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
                env.update(v.split("=", 1) for v in args.env)  # type: ignore[misc]
                argv = [sys.executable, "-c", WRAPPER, str(out), "run", str(work / "c.jsonl")]
                argv += ["--once", "--data-dir", str(data), *common]
                start = time.perf_counter()
                with (work / f"{name}.log").open("w") as log:
                    proc = subprocess.Popen(
                        argv, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=log
                    )
                    _, status, usage = os.wait4(proc.pid, 0)
                wall = time.perf_counter() - start
                parent = json.loads(out.read_text())["cpu"]
                tree_cpu = usage.ru_utime + usage.ru_stime
                rows[name].append((parent, tree_cpu, wall))
                code = os.waitstatus_to_exitcode(status)
                if code not in (0, 1):  # 1: problems found (none on the simulator)
                    print((work / f"{name}.log").read_text()[-3000:], file=sys.stderr)
                print(
                    f"  round {rnd + 1} {name:<8} parent {parent:6.2f} CPU-s "
                    f"({parent / n * 1e6:5.0f} us/check) tree {tree_cpu:6.2f} wall {wall:6.2f} s"
                    f" rc {code}",
                    flush=True,
                )
        print(f"medians over {args.repeat} rounds, {n} targets; load {os.getloadavg()}")
        for name, values in rows.items():
            p, t, w = (statistics.median(v[i] for v in values) for i in range(3))
            print(
                f"  {name:<8} parent {p:.2f} CPU-s = {p / n * 1e6:.0f} us/check; "
                f"tree {t:.2f} CPU-s; wall {w:.2f} s"
            )
    finally:
        cvl.stop_simulator(sim)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
