"""Benchmark: where a first start's extra parent CPU goes: `run --once` fresh, then stored.

Runs `run --once` on daemon_vs_check.py's corpus (N records, 5 URLs
each, 50 hosts, small pages on bench/websim.py, loopback only) twice per tree:
on a fresh database, then again on the database it left (`--interval 1s`:
every target due again, the corpus stored and unchanged). A wrapper in the
daemon's parent sums each database call's thread CPU (and its wall time: the
waits for the write turn, the GIL and the cores besides) by the function it ran
(the scan, the claims, the result writes: `settle_from_thread`), and at the
exit the process's CPU (user and system), the main thread's, and its I/O
counters (/proc/self/io: bytes and system calls, nearly all SQLite's page
reads and WAL writes). "fresh" minus "stored" is what the first start adds
(issue 16).
`--env VAR=VALUE` sets a variable in the daemon (repeatable); a tree is a
`git worktree`. At 1,000 records or fewer a fresh start may check in its own
process where the stored run starts a checker process (the corpus-size guess
against the target count): use 2,000 or more. Usage:

    .venv/bin/python bench/first_start_split.py --records 10000 --tree base=/tmp/base --tree head=.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402

# runs `python -m monitor ARGS...` with each database call's thread CPU and wall time
# summed by the function it ran, then writes the process's figures at its exit
WRAPPER = r"""
import atexit, collections, json, resource, runpy, sys, threading, time
out = sys.argv.pop(1)
import monitor.daemon.unjoined as unjoined
settle = unjoined.settle_from_thread
spent = collections.defaultdict(lambda: [0.0, 0, 0.0])
lock = threading.Lock()
def timed_settle(future, fn, args, name):
    key = getattr(getattr(fn, "func", fn), "__qualname__", None) or repr(fn)
    def body(*a):
        start, wall = time.thread_time(), time.perf_counter()
        try:
            return fn(*a)
        finally:
            with lock:
                spent[key][0] += time.thread_time() - start
                spent[key][1] += 1
                spent[key][2] += time.perf_counter() - wall
    return settle(future, body, args, name)
unjoined.settle_from_thread = timed_settle
def dump():
    u = resource.getrusage(resource.RUSAGE_SELF)
    words = open("/proc/self/io").read().split()
    io = dict(zip((k.rstrip(":") for k in words[::2]), map(int, words[1::2])))
    with open(out, "w") as f:
        json.dump({"cpu": u.ru_utime + u.ru_stime, "sys": u.ru_stime, "main": time.thread_time(),
                   "io": io, "calls": dict(spent)}, f)
atexit.register(dump)
sys.argv[0] = "article-monitor"
runpy.run_module("monitor", run_name="__main__", alter_sys=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="x5 URLs [10000]")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tree", action="append", default=[], help="NAME=DIR (repeatable)")
    parser.add_argument("--env", action="append", default=[], help="VAR=VALUE for the daemon")
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.tree] or [["here", str(HERE.parent)]]
    work = Path(tempfile.mkdtemp(prefix="first_start_split."))
    sim, banner = cvl.start_simulator(1, 3600, "auto", "small", 20.0)
    try:
        port, hosts = banner["port"], banner["hosts"]
        corpus = cvl.make_corpus(args.records, port, [cvl.host_name(h) for h in hosts])
        (work / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
        common = ["--allow-network", "127.0.0.0/8", "--concurrency", "128", "--per-host", "8"]
        common += ["--retries", "0", "--timeout", "20", "--listen", "127.0.0.1:0"]
        common += ["--interval", "1s"]  # the second run finds every target due again
        for h in hosts:
            common += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        for rnd in range(args.repeat):
            for name, tree in trees:
                data = work / f"db-{name}"
                shutil.rmtree(data, ignore_errors=True)
                env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
                env.update(v.split("=", 1) for v in args.env)  # type: ignore[misc]
                for kind in ("fresh", "stored"):
                    out = work / f"{name}-{kind}.json"
                    argv = [sys.executable, "-c", WRAPPER, str(out), "run", str(work / "c.jsonl")]
                    argv += ["--once", "--data-dir", str(data), *common]
                    start = time.perf_counter()
                    with (work / f"{name}-{kind}.log").open("w") as log:
                        proc = subprocess.Popen(
                            argv, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=log
                        )
                        _, status, usage = os.wait4(proc.pid, 0)
                    wall = time.perf_counter() - start
                    code = os.waitstatus_to_exitcode(status)
                    if code not in (0, 1):
                        print((work / f"{name}-{kind}.log").read_text()[-3000:], file=sys.stderr)
                    got = json.loads(out.read_text())
                    io = got["io"]
                    print(
                        f"round {rnd + 1} {name} {kind}: parent {got['cpu']:.2f} CPU-s (system "
                        f"{got['sys']:.2f}, main thread {got['main']:.2f}), tree "
                        f"{usage.ru_utime + usage.ru_stime:.2f}, wall {wall:.2f} s, rc {code}, "
                        f"load {os.getloadavg()[0]:.1f}\n    read {io['rchar'] >> 20} MB in "
                        f"{io['syscr']} calls, written {io['wchar'] >> 20} MB in "
                        f"{io['syscw']} calls",
                        flush=True,
                    )
                    for fn, (cpu, calls, took) in sorted(
                        got["calls"].items(), key=lambda kv: -kv[1][0]
                    ):
                        if cpu >= 0.05:
                            print(f"    {cpu:6.2f} CPU-s {took:6.2f} s {calls:5d} calls  {fn}")
                    time.sleep(1.5)  # every target due again
    finally:
        cvl.stop_simulator(sim)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
