"""Instructions (callgrind's Ir) of the start every article-monitor process pays, per tree.

startup.py times the start; this counts it, which other processes on the
machine do not change. For each tree, in the order given and once per round,
under ``valgrind --tool=callgrind``:

- ``version``: ``article-monitor --version``;
- ``config``: ``python -c "import monitor.config"`` (what every settings reader pays);
- ``http``: ``python -c "import monitor.http"``;
- ``check``: ``check`` of one record (5 small pages on the loopback simulator,
  json report), the whole process: the start before the first request and the
  few checks past it.

``--only`` picks among them. Each tree's bytecode is compiled first, as a
wheel install has it. Only 127.0.0.0/8 is contacted; the simulator stops with
the script.

    .venv/bin/python bench/startup_ir.py --against head=/work/main --against base=/tmp/base-tree
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
sys.path.insert(0, str(HERE))

from check_vs_lychee import (  # noqa: E402
    TREE_CLI,
    compile_trees,
    host_name,
    make_corpus,
    start_simulator,
    stop_simulator,
)

CASES = ("version", "config", "http", "check")


def count(argv: list[str], tree: str, work: Path, out: Path) -> int:
    """callgrind's instruction count of one run of `argv` with `tree` first on sys.path."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
        env={
            **os.environ,
            "PYTHONPATH": str(Path(tree).resolve()),
            "ARTICLE_MONITOR_CONNECT_TIMEOUT": "600",
        },
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=work,  # no package here: `python -c` puts the working directory first on sys.path
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None or run.returncode not in (0, 1):
        raise SystemExit(f"{argv[1:3]} exit {run.returncode}:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree and case [1]")
    parser.add_argument(
        "--against", action="append", required=True, metavar="NAME=DIR", help="a package tree"
    )
    parser.add_argument(
        "--only", action="append", choices=CASES, help="a case to run (repeatable) [all]"
    )
    parser.add_argument("--keep", type=Path, help="directory for each run's callgrind file")
    args = parser.parse_args()
    cases = args.only or list(CASES)
    trees = [spec.partition("=")[::2] for spec in args.against]
    compile_trees([Path(tree) for _, tree in trees])
    sim, banner = start_simulator(1, 3600, "auto", "small", 0.0)
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            work = Path(work_dir)
            port, hosts = banner["port"], banner["hosts"]
            corpus = work / "corpus.jsonl"
            records = make_corpus(1, port, [host_name(h) for h in hosts])
            corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
            check = ["check", str(corpus), "--format", "json", "-o", str(work / "report.json")]
            check += ["--allow-network", "127.0.0.0/8", "--retries", "0", "--timeout", "600"]
            for h in hosts:
                check += ["--connect-to", f"{host_name(h)}:{port}:{h}:{port}"]
            counts: dict[tuple[str, str], list[int]] = {}
            for round_no in range(args.rounds):
                for case in cases:
                    for name, tree in trees:
                        argv = {
                            "version": [sys.executable, "-c", TREE_CLI, "--version"],
                            "config": [sys.executable, "-c", "import monitor.config"],
                            "http": [sys.executable, "-c", "import monitor.http"],
                            "check": [
                                sys.executable,
                                "-c",
                                TREE_CLI,
                                *check,
                                "--data-dir",
                                str(work / f"data-{name}-{round_no}"),
                            ],
                        }[case]
                        out = (args.keep or work) / f"callgrind.{case}.{name}.{round_no}"
                        n = count(argv, tree, work, out)
                        counts.setdefault((case, name), []).append(n)
                        print(f"{case:<8} {name:<8} {n / 1e6:9,.1f} M", flush=True)
            print(f"{'case':<8} " + " ".join(f"{name:>12}" for name, _ in trees))
            for case in cases:
                row = " ".join(
                    f"{statistics.median(counts[case, name]) / 1e6:10,.1f} M" for name, _ in trees
                )
                print(f"{case:<8} {row}")
    finally:
        stop_simulator(sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
