"""Instructions per check of the engine (callgrind's Ir), for A/B steps on a busy machine.

CPU time per check swings by 5-10% when other processes share the cores
(the same tree measured 212 and 226 µs in one http_floor.py run); the count
of instructions a process executes does not: two runs of one tree agree
within ~0.2%. This runs http_floor.py's engine round (the engine over N of
the benchmark's small-shape URLs, every result through the worker's row
encoder) under ``valgrind --tool=callgrind`` once per tree and round, against
bench/websim.py on loopback (no latency), and prints the instructions of each
run. The start-up (imports) is in every figure and the same for every tree;
``--start`` also runs each tree over a tenth of the URLs, and the difference
gives the instructions per URL. Instructions are not time (a regex's or a
syscall's cost per instruction is not the interpreter's), so a step found
here is confirmed by check_vs_lychee.py's CPU per check.

    .venv/bin/python bench/engine_ir.py --urls 3000 --rounds 2 \\
        --against head=/work/main --against base=/tmp/base-tree --start

Needs valgrind. Only 127.0.0.0/8 is contacted; the simulator stops with the script.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_vs_lychee import start_simulator, stop_simulator  # noqa: E402
from http_floor import urls_for  # noqa: E402


def instructions(tree: str, urls_file: Path, out_dir: str) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/callgrind.out",
            sys.executable,
            str(HERE / "http_floor.py"),
            "--concurrency",
            "128",
            "--child",
            "engine",
            str(urls_file),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(tree).resolve())},
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from callgrind:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--urls", type=int, default=3000, help="URLs per run [3000]")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tree [2]")
    parser.add_argument(
        "--against", action="append", required=True, metavar="NAME=DIR", help="a package tree"
    )
    parser.add_argument("--start", action="store_true", help="also a run of a tenth of the URLs")
    args = parser.parse_args()
    trees = [spec.partition("=")[::2] for spec in args.against]
    sim, banner = start_simulator(1, 3600, "auto", "small", 0.0)
    try:
        with tempfile.TemporaryDirectory() as work:
            sizes = [args.urls] + ([args.urls // 10] if args.start else [])
            files = {}
            for size in sizes:
                urls = urls_for(int(banner["port"]), size, banner["hosts"])
                files[size] = Path(work) / f"urls-{size}.txt"
                files[size].write_text("\n".join(urls))
            counts: dict[tuple[str, int], list[int]] = {}
            for _ in range(args.rounds):
                for name, tree in trees:
                    for size in sizes:
                        ir = instructions(tree, files[size], work)
                        counts.setdefault((name, size), []).append(ir)
                        print(f"{name} {size} URLs: {ir / 1e6:,.1f} M instructions", flush=True)
            for name, _ in trees:
                whole = statistics.median(counts[(name, args.urls)])
                line = f"{name:<8} {whole / 1e6:9,.1f} M instructions for {args.urls} URLs"
                if args.start:
                    tenth = statistics.median(counts[(name, args.urls // 10)])
                    per = (whole - tenth) / (args.urls - args.urls // 10)
                    line += f", {per / 1e3:,.1f} thousand per URL past the start"
                print(line)
    finally:
        stop_simulator(sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
