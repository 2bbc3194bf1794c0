"""Benchmark: the daemon (`run`, `run --once`) against `check` on the same targets (issue 16).

Starts the web simulator (bench/websim.py; small pages, a latency), writes a
corpus of N records (5 URLs each, host names mapped by --connect-to) and
runs, with the same limits (`--concurrency 128 --per-host 8 --retries 0`):

- `check` on the --once corpus: wall, CPU (the whole process tree), checks/s;
- `run --once` on the same corpus with a fresh SQLite database: the same;
  target: within 1.25x of check's wall time;
- `run` on the --run corpus (fresh database, every target due at once and
  due again after --interval) for --seconds, from the simulator's request
  counter sampled every 0.5 s, against `check`'s steady rate on the same
  corpus (between 10% and 90% of its targets); target: at least 0.8x. Two
  rates: "steady", the first pass between 10% and 90% of the targets (every
  check a first sighting, the corpus still being written), and "sustained",
  from 1% of the targets to the end, rechecks included: with an --interval
  shorter than a pass (e.g. 10 s for 100,000 targets) the targets are always
  due, and this is the rate the daemon sustains over --seconds. "first" is the time until 1% of the
  targets were requested: start-up, and for the daemon writing the corpus
  to its database.

With --stored, each round also splits `run --once`'s time: the same run
again on the database the first left (`--interval 1s`, so every target is
due again: the corpus is stored and unchanged, so no scan writes), and once
more after every target's state is set back to unknown and its page mark
removed (first sightings again, without the scan). "stored" against
"first" is what writing the corpus costs a first start; "reset" against
"stored" what a first sighting's history costs over a recheck's.

Each pair runs interleaved --repeat times. `--variant LABEL:VAR=VALUE,...`
(repeatable) runs the daemon once more in each round with those environment
variables (`base:PYTHONPATH=/tmp/base` runs another tree of the package, a
`git worktree`; `nomarks:ARTICLE_MONITOR_TEXT_DRIFT=false` the daemon without
page text marks): A/B in the same rounds. Loopback only; every run has a
timeout. Usage:

    .venv/bin/python bench/daemon_vs_check.py --once-records 10000 --run-records 20000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402

CLI = shutil.which("article-monitor", path=str(Path(sys.executable).parent)) or "article-monitor"
RUN_TIMEOUT = 600.0


@dataclass
class Figures:
    what: str
    wall_s: float
    cpu_s: float
    requests: int
    steady_rate: float  # requests/s between 10% and 90% of the targets (Sampler.steady)
    returncode: int
    peak_rss_mb: float
    first_s: float = 0.0  # until 1% of the targets were requested
    sustained_rate: float = 0.0  # requests/s from 1% of the targets to the end (Sampler.sustained)
    held: float = 0.0  # mean answers held by the simulator from 1% of the targets on (in flight)


class Sampler(threading.Thread):
    """The simulator's request counter every 0.5 s: (monotonic time, requests),
    and its answers held back by the latency at that moment: the client's
    requests in flight (by Little's law, rate = in flight / latency)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.samples: list[tuple[float, int]] = []
        self.held: list[tuple[int, int]] = []  # (requests, held) at each sample
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            with contextlib.suppress(OSError, ValueError):
                stats = cvl.sim_stats(self.port)
                self.samples.append((time.monotonic(), stats["requests"]))
                self.held.append((stats["requests"], stats.get("held", 0)))
            self.halt.wait(0.5)

    def steady(self, targets: int) -> float:
        """Requests/s between 10% and 90% of `targets`, or, when 90% is not
        reached (a daemon whose targets come due again), from 1% to the end."""
        if len(self.samples) < 2:
            return 0.0
        base = self.samples[0][1]
        hi = next((s for s in self.samples if s[1] - base >= 0.9 * targets), None)
        share = 0.1 if hi is not None else 0.01
        lo = next((s for s in self.samples if s[1] - base >= share * targets), self.samples[0])
        hi = hi or self.samples[-1]
        return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0

    def sustained(self, targets: int) -> float:
        """Requests/s from 1% of `targets` to the last sample: a daemon's rate
        over its whole run, rechecks included (with an --interval shorter than
        a pass, its targets are always due, so this is what it sustains)."""
        if len(self.samples) < 2:
            return 0.0
        base = self.samples[0][1]
        lo = next((s for s in self.samples if s[1] - base >= 0.01 * targets), self.samples[0])
        hi = self.samples[-1]
        return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0

    def in_flight(self, targets: int) -> float:
        """Mean requests held by the simulator from 1% of `targets` to the end."""
        if not self.held:
            return 0.0
        base = self.held[0][0]
        held = [h for r, h in self.held if r - base >= 0.01 * targets]
        return statistics.fmean(held) if held else 0.0

    def first_checks(self, targets: int) -> float:
        """Seconds from the start until 1% of `targets` were requested (start-up,
        and for the daemon the corpus written to its database)."""
        if not self.samples:
            return 0.0
        t0, base = self.samples[0]
        hit = next((s for s in self.samples if s[1] - base >= 0.01 * targets), self.samples[-1])
        return hit[0] - t0


def timed(
    what: str,
    argv: list[str],
    port: int,
    targets: int,
    cwd: Path,
    seconds: float | None = None,
    env: dict[str, str] | None = None,
) -> Figures:
    """Run argv (stopped by SIGTERM after `seconds`, if given): wall, CPU of the
    whole tree (wait4), requests served meanwhile and the steady rate."""
    sampler = Sampler(port)
    before = cvl.sim_stats(port)["requests"]
    sampler.start()
    with (cwd / f"{what}.log").open("w") as log:
        start = time.perf_counter()
        environ = {**os.environ, **env} if env else None
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log, env=environ)
        tree = cvl.TreeSampler(proc.pid)
        tree.start()
        stopper = threading.Timer(seconds or RUN_TIMEOUT, proc.send_signal, (signal.SIGTERM,))
        killer = threading.Timer((seconds or RUN_TIMEOUT) + 60, proc.kill)
        stopper.start()
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            stopper.cancel()
            killer.cancel()
            peak = tree.stop()
        wall = time.perf_counter() - start
    sampler.halt.set()
    sampler.join()
    time.sleep(0.3)  # the simulator flushes its counters every 0.2 s
    served = cvl.sim_stats(port)["requests"] - before - 1
    return Figures(
        what,
        wall,
        usage.ru_utime + usage.ru_stime,
        served,
        sampler.steady(targets),
        os.waitstatus_to_exitcode(status),
        peak / 2**20,
        sampler.first_checks(targets),
        sampler.sustained(targets),
        sampler.in_flight(targets),
    )


def write_corpus(path: Path, records: int, port: int, hosts: Sequence[str]) -> int:
    corpus = cvl.make_corpus(records, port, [cvl.host_name(h) for h in hosts])
    path.write_text("".join(json.dumps(rec) + "\n" for rec in corpus))
    return len(cvl.corpus_urls(corpus))


def reset_states(db: Path) -> None:
    """Every target back to unknown and no page marks: the next `run --once` makes
    first sightings again, on a database that already holds the corpus."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(
            "UPDATE targets SET state = 'unknown', fails = 0, succs = 0, last_outcome = NULL,"
            " last_problems = '', last_status = NULL, last_checked_at = NULL"
        )
        conn.execute("DELETE FROM page_marks")
        conn.commit()
    finally:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--once-records", type=int, default=10_000, help="x5 URLs [10000]")
    parser.add_argument("--run-records", type=int, default=20_000, help="x5 URLs [20000]")
    parser.add_argument("--seconds", type=float, default=240.0, help="length of `run` [240]")
    parser.add_argument(
        "--interval", type=float, default=60.0, help="`run --interval`: due again after [60]"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds [1]")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--shape", choices=("small", "realistic"), default="small")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--skip", default="", help="comma-separated: once,run")
    parser.add_argument(
        "--stored",
        action="store_true",
        help="also time `run --once` on a database that holds the corpus (see above)",
    )
    parser.add_argument(
        "--variant", action="append", default=[], help="LABEL:VAR=VALUE,... (repeatable)"
    )
    args = parser.parse_args(argv)
    variants = [("", {})] + [
        (f" [{label}]", dict(kv.split("=", 1) for kv in spec.split(",")))
        for label, _, spec in (v.partition(":") for v in args.variant)
    ]

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="daemon_vs_check."))
    budget = 120 + args.repeat * (4 * RUN_TIMEOUT + args.seconds)
    sim, banner = cvl.start_simulator(1, budget, "auto", args.shape, args.latency_ms)
    try:
        port, hosts = banner["port"], banner["hosts"]
        common = [
            "--allow-network",
            "127.0.0.0/8",
            "--concurrency",
            str(args.concurrency),
            "--per-host",
            str(args.per_host),
            "--retries",
            "0",
            "--timeout",
            "20",
        ]
        for h in hosts:
            common += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        skip = set(args.skip.split(","))
        once_n = write_corpus(work / "once.jsonl", args.once_records, port, hosts)
        run_n = write_corpus(work / "run.jsonl", args.run_records, port, hosts)
        print(
            f"# simulator: {args.shape} bodies, latency {args.latency_ms:g} ms; concurrency "
            f"{args.concurrency}, per-host {args.per_host}; --once: {once_n} targets, run: "
            f"{run_n} targets for {args.seconds:g} s; work dir {work}",
            flush=True,
        )
        figures: dict[str, list[Figures]] = {}

        def record(f: Figures) -> None:
            figures.setdefault(f.what, []).append(f)
            print(
                f"  {f.what:<16} wall {f.wall_s:7.2f}s cpu {f.cpu_s:6.2f}s "
                f"({1e6 * f.cpu_s / max(f.requests, 1):4.0f} us/request) "
                f"requests {f.requests:>7} first {f.first_s:6.1f}s steady {f.steady_rate:7,.0f}/s "
                f"sustained {f.sustained_rate:7,.0f}/s in flight {f.held:5.1f} "
                f"rss {f.peak_rss_mb:5.0f} MB rc {f.returncode}",
                flush=True,
            )

        def check(corpus: str) -> list[str]:
            out = ["check", str(work / corpus), "--format", "json", "-o", str(work / "r.json")]
            return [CLI, *out, "--data-dir", str(work / "cdata"), *common]

        def daemon(corpus: str, db: str, *extra: str) -> list[str]:
            shutil.rmtree(work / db, ignore_errors=True)
            listen = ["--listen", "127.0.0.1:0"]
            return [CLI, "run", str(work / corpus), "--data-dir", str(work / db), *listen, *extra]

        for rnd in range(args.repeat):
            print(f"round {rnd + 1}", flush=True)
            if "once" not in skip:
                record(timed("check", check("once.jsonl"), port, once_n, work))
                for label, env in variants:
                    extra = ["--interval", "1s"] if args.stored else []
                    argv = [*daemon("once.jsonl", "once-db", "--once", *extra), *common]
                    record(timed("run --once" + label, argv, port, once_n, work, env=env))
                    if args.stored:
                        again = argv  # the same command: the database is kept this time
                        time.sleep(1.5)  # every target due again
                        record(timed("stored" + label, again, port, once_n, work, env=env))
                        reset_states(work / "once-db" / "article-monitor.db")
                        time.sleep(1.5)
                        record(timed("reset" + label, again, port, once_n, work, env=env))
            if "run" not in skip:
                record(timed("check (run set)", check("run.jsonl"), port, run_n, work))
                interval = ["--interval", f"{args.interval:g}"]
                for label, env in variants:
                    argv = [*daemon("run.jsonl", "run-db", *interval), *common]
                    run = timed("run" + label, argv, port, run_n, work, args.seconds, env)
                    record(run)

        def med(what: str, attr: str) -> float:
            values = [getattr(f, attr) for f in figures.get(what, [])]
            return statistics.median(values) if values else 0.0

        print()
        for label, _ in variants:
            if "once" not in skip:
                c, o = med("check", "wall_s"), med("run --once" + label, "wall_s")
                cpu = med("run --once" + label, "cpu_s")
                print(
                    f"--once{label} on {once_n} due: {o:.2f} s against check {c:.2f} s = "
                    f"{o / c if c else 0:.2f}x (target <= 1.25x); CPU {cpu:.1f}"
                    f" s against {med('check', 'cpu_s'):.1f} s"
                )
                for split in ("stored", "reset") if args.stored else ():
                    w = med(split + label, "wall_s")
                    print(
                        f"  {split}{label}: {w:.2f} s = {w / c if c else 0:.2f}x check; CPU "
                        f"{med(split + label, 'cpu_s'):.1f} s"
                    )
            if "run" not in skip:
                c, r = med("check (run set)", "steady_rate"), med("run" + label, "steady_rate")
                print(
                    f"run{label} on {run_n} due: {r:,.0f} checks/s steady against check {c:,.0f} "
                    f"= {r / c if c else 0:.2f}x (target >= 0.8x); check overall "
                    f"{run_n / med('check (run set)', 'wall_s'):,.0f} checks/s"
                )
                s_ = med("run" + label, "sustained_rate")
                print(
                    f"run{label} sustained from 1% of its targets to the end ({args.seconds:g} s, "
                    f"--interval {args.interval:g}): {s_:,.0f} checks/s = "
                    f"{s_ / c if c else 0:.2f}x of check's steady rate"
                )
        print("Medians over rounds; CPU: user+system of the whole process tree (wait4);")
        print("requests and steady rates from the simulator's own counter.")
    finally:
        cvl.stop_simulator(sim)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
