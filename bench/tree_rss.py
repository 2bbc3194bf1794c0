"""Peak RSS of a whole process tree, with its wall and CPU time.

`/usr/bin/time -v` reports the largest single process, not the tree: a run
of a parent and two worker processes needs the sum. This samples the RSS of
the command and all its descendants at ~20 Hz (psutil) and prints the
largest sum seen, the wall time, and the CPU seconds (user + system) of the
command and every child it waited for.

    python bench/tree_rss.py -- .venv/bin/article-monitor check corpus.jsonl ...
    python bench/tree_rss.py --json -- CMD...   # one JSON object instead

The exit status is the command's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time

import psutil  # type: ignore[import-untyped]  # (bench extra)

MIB = 1 << 20


def tree_rss(root: psutil.Process, cpu: dict[int, float] | None = None) -> tuple[int, int]:
    """(sum of RSS in bytes, number of processes) of `root` and its descendants.

    `cpu`, when given, gets each process's CPU seconds so far (by pid).
    """
    procs = [root]
    try:
        procs += root.children(recursive=True)
    except psutil.Error:
        pass
    total = 0
    alive = 0
    for p in procs:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                if cpu is not None:
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
            alive += 1
        except psutil.Error:
            pass  # ended between listing and sampling
    return total, alive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD...")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd)
    root = psutil.Process(proc.pid)
    peak = 0
    peak_procs = 0
    most_procs = 0
    stop = threading.Event()
    cpu: dict[int, float] = {}  # last sample per process: a split of the CPU time

    def sample() -> None:
        nonlocal peak, peak_procs, most_procs
        while not stop.is_set():
            rss, n = tree_rss(root, cpu)
            most_procs = max(most_procs, n)
            if rss > peak:
                peak, peak_procs = rss, n
            stop.wait(args.interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        code = proc.wait()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    figures = {
        "exit": code,
        "peak_tree_rss_mib": round(peak / MIB, 1),
        "processes_at_peak": peak_procs,
        "most_processes": most_procs,
        "wall_s": round(wall, 2),
        "cpu_s": round(user + system, 2),
        "user_s": round(user, 2),
        "sys_s": round(system, 2),
        # the largest single process (what `time -v` would call max RSS)
        "max_single_rss_mib": round(after.ru_maxrss / 1024, 1),
        # sampled, so each a little short of the truth: the root first
        "cpu_by_process_s": [round(cpu.pop(proc.pid, 0.0), 1)]
        + [round(v, 1) for v in cpu.values()],
    }
    if args.json:
        print(json.dumps(figures), file=sys.stderr)
    else:
        print(
            f"peak tree RSS {figures['peak_tree_rss_mib']} MiB "
            f"({peak_procs} processes), wall {figures['wall_s']} s, "
            f"CPU {figures['cpu_s']} s (user {figures['user_s']}, sys {figures['sys_s']}), "
            f"exit {code}; CPU by process (sampled) {figures['cpu_by_process_s']}",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
