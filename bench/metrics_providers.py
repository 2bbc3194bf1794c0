"""CPU of one /metrics render when many providers have targets down (a hostile
corpus may name a million), in thread CPU.

    .venv/bin/python bench/metrics_providers.py [--base TREE] [--rounds 5] [--providers N]

With `--base` (a checkout of an earlier commit, e.g. `git worktree add
/tmp/base HEAD~1`) each round runs the base tree and this one alternately,
in processes of their own; medians printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def measure(providers: int) -> dict[str, float]:
    from monitor.observe.metrics import DaemonMetrics
    from monitor.storage.repository import Snapshot

    snap = Snapshot(provider_down={f"p{i:07d}.example.com": 1 + i % 5 for i in range(providers)})
    metrics = DaemonMetrics(lambda: snap)
    metrics.render()  # warm
    t = time.thread_time()
    metrics.render()
    return {"render_s": time.thread_time() - t}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--providers", type=int, default=1_000_000)
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.providers)))
        return
    here = Path(__file__).resolve().parents[1]
    script = str(Path(__file__).resolve())
    trees = {"this": here} if args.base is None else {"base": args.base, "this": here}
    got: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            out = subprocess.run(
                [sys.executable, script, "--child", "--providers", str(args.providers)],
                cwd=tree,
                env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            )
            got[name].append(json.loads(out.stdout)["render_s"])
    for name, values in got.items():
        print(f"{name}: median {statistics.median(values):.3f} s ({len(values)} rounds)")


if __name__ == "__main__":
    main()
