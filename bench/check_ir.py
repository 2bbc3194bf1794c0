"""Instructions of the whole `check` process (callgrind's Ir), for A/B steps on a busy machine.

engine_ir.py counts the engine alone; this counts everything `check` runs in
its one process over R records of check_vs_lychee.py's corpus (5 URLs a
record, small pages, no latency, host names by ``--connect-to``): start-up,
the corpus read and audit, the checks, the report (each tree's bytecode
compiled first, as a wheel install has it). Each tree's CLI runs under
``valgrind --tool=callgrind`` once per round, in the order given; ``--keep``
keeps each run's callgrind file (for ``callgrind_annotate --inclusive=yes``).
Instructions are not time; a step found here is still to be timed.

    .venv/bin/python bench/check_ir.py --records 1000 --rounds 1 \\
        --against head=/work/main --against base=/tmp/base-tree

Needs valgrind. Only 127.0.0.0/8 is contacted; the simulator stops with the script.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1000, help="records (5 URLs each) [1000]")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree [1]")
    parser.add_argument(
        "--against", action="append", required=True, metavar="NAME=DIR", help="a package tree"
    )
    parser.add_argument("--keep", type=Path, help="directory for each run's callgrind file")
    args = parser.parse_args()
    trees = [spec.partition("=")[::2] for spec in args.against]
    compile_trees([Path(tree) for _, tree in trees])  # as a wheel install: no compiling in the run
    sim, banner = start_simulator(1, 3600, "auto", "small", 0.0)
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            work = Path(work_dir)
            port, hosts = banner["port"], banner["hosts"]
            corpus = work / "corpus.jsonl"
            records = make_corpus(args.records, port, [host_name(h) for h in hosts])
            corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
            report = work / "report.json"
            argv = [
                "check",
                str(corpus),
                "--format",
                "json",
                "-o",
                str(report),
                "--allow-network",
                "127.0.0.0/8",
                "--concurrency",
                "128",
                "--per-host",
                "8",
                "--retries",
                "0",
                "--timeout",
                "600",  # under valgrind a check's answer may take a minute
                "--kinds",
                "web,amp,cdn,image",
            ]
            for h in hosts:
                argv += ["--connect-to", f"{host_name(h)}:{port}:{h}:{port}"]
            counts: dict[str, list[int]] = {}
            for round_no in range(args.rounds):
                for name, tree in trees:
                    out = (args.keep or work) / f"callgrind.{name}.{round_no}"
                    run = subprocess.run(
                        [
                            "valgrind",
                            "--tool=callgrind",
                            f"--callgrind-out-file={out}",
                            sys.executable,
                            "-c",
                            TREE_CLI,
                            *argv,
                            "--data-dir",
                            str(work / f"data-{name}-{round_no}"),
                        ],
                        env={
                            **os.environ,
                            "PYTHONPATH": str(Path(tree).resolve()),
                            # a loaded machine and valgrind can hold a connect past 5 s
                            "ARTICLE_MONITOR_CONNECT_TIMEOUT": "600",
                        },
                        capture_output=True,
                        text=True,
                        timeout=3600,
                        cwd=work,
                    )
                    found = re.search(r"Collected : (\d+)", run.stderr)
                    if found is None:
                        raise SystemExit(f"no count from callgrind:\n{run.stderr[-2000:]}")
                    summary = json.loads(report.read_text())["summary"]
                    outcomes = summary.get("by_outcome")
                    counts.setdefault(name, []).append(int(found.group(1)))
                    print(f"{name}: {int(found.group(1)) / 1e6:,.1f} M, {outcomes}", flush=True)
            for name, _ in trees:
                print(f"{name:<8} {statistics.median(counts[name]) / 1e6:9,.1f} M instructions")
    finally:
        stop_simulator(sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
