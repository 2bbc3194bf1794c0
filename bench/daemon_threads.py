"""Benchmark: where the CPU of `run --once` goes, by process and thread, against `check`.

`daemon_vs_check.py` gives the whole tree's CPU; this splits it. It starts the
web simulator (small pages, a latency), writes the same corpus as
daemon_vs_check.py (N records, 5 URLs each, host names mapped by
--connect-to) and runs `check` and `run --once` on it with the same limits,
reading /proc every 0.1 s for the CPU of each thread of each process of the
tree, and of the simulator (it shares the two cores). It prints each
thread's CPU (the daemon's: its main thread, the database thread, the scan
thread; the checker processes), the time each waited for a core while ready
to run (/proc's schedstat: contention on the two cores stretches every
request in flight), and a timeline every 0.5 s: requests/s,
requests in flight at the simulator, and each busy thread's share of a core.

Linux only (/proc). Loopback only; every run has a timeout. Usage:

    .venv/bin/python bench/daemon_threads.py --records 10000 [--timeline]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402
import daemon_vs_check as dvc  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
RUN_TIMEOUT = 300.0

ThreadKey = tuple[int, int, str, str]  # pid, tid, thread name, the process's command line


@dataclass
class Watch:
    """CPU seconds of every thread ever seen under `roots`, and a timeline."""

    roots: list[int]
    port: int
    cpu: dict[ThreadKey, float] = field(default_factory=dict)
    # seconds each thread was ready to run but waited for a core (schedstat's 2nd
    # field): CPU contention, which stretches every request in flight
    waited: dict[ThreadKey, float] = field(default_factory=dict)
    timeline: list[tuple[float, int, int, dict[ThreadKey, float]]] = field(default_factory=list)
    halt: threading.Event = field(default_factory=threading.Event)
    # the simulator's counters over the run: requests, connections, bytes
    served: dict[str, int] = field(default_factory=dict)
    # what threads already running at the start (the simulator's) had spent then:
    # the simulator serves both runs, and its counters are since its own start
    spent_before: dict[ThreadKey, tuple[float, float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pid in self._tree():
            self._read(pid)
        self.spent_before = {k: (v, self.waited.get(k)) for k, v in self.cpu.items()}
        self.cpu.clear()
        self.waited.clear()

    def run(self) -> None:
        last = 0.0
        while not self.halt.is_set():
            for pid in self._tree():
                self._read(pid)
            now = time.monotonic()
            if now - last >= 0.5:
                last = now
                try:
                    stats = cvl.sim_stats(self.port)
                except (OSError, ValueError):
                    continue
                self.timeline.append((now, stats["requests"], stats.get("held", 0), dict(self.cpu)))
            self.halt.wait(0.1)

    def _tree(self) -> list[int]:
        out, todo = [], list(self.roots)
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo += [int(x) for x in f.read().split()]
            except OSError:
                continue
        return out

    def _read(self, pid: int) -> None:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return
        cmd = cmd.replace(str(Path(sys.executable).parent) + "/", "")[:60]
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            key = (pid, int(tid), name, cmd)
            if cmd or key not in self.cpu:  # a process ending reads an empty command line
                spent, before = self.spent_before.get(key, (0.0, 0.0))
                self.cpu[key] = (int(fields[11]) + int(fields[12])) / TICK - spent
                waited = run_queue_wait(f"/proc/{pid}/task/{tid}/schedstat")
                if waited is not None:
                    self.waited[key] = waited - (before or 0.0)


SERVED = ("requests", "connections", "bytes")


def run_queue_wait(path: str) -> float | None:
    """Seconds the thread spent runnable, waiting for a core (None without schedstats)."""
    try:
        with open(path) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def measure(argv: list[str], watch_roots: list[int], port: int, work: Path) -> tuple[float, Watch]:
    before = cvl.sim_stats(port)
    with (work / "log").open("w") as log:
        watch = Watch(list(watch_roots), port)  # the simulator's spending so far set aside
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=work)
        watch.roots.insert(0, proc.pid)
        poller = threading.Thread(target=watch.run, daemon=True)
        poller.start()
        try:
            proc.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        wall = time.monotonic() - start
        watch.halt.set()
        poller.join()
    after = cvl.sim_stats(port)
    watch.served = {k: after[k] - before.get(k, 0) for k in SERVED if k in after}
    return wall, watch


def report(what: str, wall: float, watch: Watch, timeline: bool) -> None:
    busy = sorted(watch.cpu.items(), key=lambda kv: -kv[1])
    total = sum(v for k, v in busy if k[0] != watch.roots[1])
    print(f"{what}: wall {wall:.2f} s, CPU of the tree {total:.2f} s")
    served = watch.served
    if served.get("requests"):
        n = served["requests"]
        print(
            f"  simulator served {n} requests on {served.get('connections', 0)} connections, "
            f"{served.get('bytes', 0) / n:.0f} bytes a request"
        )
    for key, secs in busy:
        pid, tid, name, cmd = key
        if secs >= 0.05:
            wait = watch.waited.get(key)
            shown = f"  waited {wait:6.2f} s" if wait is not None else ""
            print(f"  {secs:7.2f} s{shown}  {pid}/{tid:<7} {name:<16} {cmd}")
    if not timeline:
        return
    keys = [k for k, v in busy if v >= 0.3][:6]
    print("     t  req/s  held  " + " ".join(f"{k[2][:9]:>9}" for k in keys) + "  (% of a core)")
    t0 = watch.timeline[0][0] if watch.timeline else 0.0
    for a, b in zip(watch.timeline, watch.timeline[1:], strict=False):
        dt = b[0] - a[0]
        shares = " ".join(f"{100 * (b[3].get(k, 0) - a[3].get(k, 0)) / dt:9.0f}" for k in keys)
        print(f"  {b[0] - t0:5.1f} {(b[1] - a[1]) / dt:6.0f} {b[2]:5}  {shares}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="x5 URLs [10000]")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--timeline", action="store_true", help="print the 0.5 s timeline")
    parser.add_argument("--skip", default="", help="comma-separated: check,once")
    args = parser.parse_args(argv)
    if not Path("/proc/self/task").is_dir():
        parser.error("needs Linux's /proc")
    work = Path(tempfile.mkdtemp(prefix="daemon_threads."))
    sim, banner = cvl.start_simulator(1, 4 * RUN_TIMEOUT, "auto", "small", args.latency_ms)
    try:
        port, hosts = banner["port"], banner["hosts"]
        common = ["--allow-network", "127.0.0.0/8", "--concurrency", "128", "--per-host", "8"]
        common += ["--retries", "0", "--timeout", "20"]
        for h in hosts:
            common += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        n = dvc.write_corpus(work / "c.jsonl", args.records, port, hosts)
        print(f"# {n} targets; simulator pid {sim.pid} (its CPU is listed, not counted)")
        skip = set(args.skip.split(","))
        corpus = str(work / "c.jsonl")
        if "check" not in skip:
            out = ["--format", "json", "-o", str(work / "r.json"), "--data-dir", str(work / "cd")]
            wall, watch = measure([dvc.CLI, "check", corpus, *out, *common], [sim.pid], port, work)
            report("check", wall, watch, args.timeline)
        if "once" not in skip:
            db = ["--data-dir", str(work / "db"), "--listen", "127.0.0.1:0", "--once"]
            wall, watch = measure([dvc.CLI, "run", corpus, *db, *common], [sim.pid], port, work)
            report("run --once", wall, watch, args.timeline)
    finally:
        cvl.stop_simulator(sim)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
