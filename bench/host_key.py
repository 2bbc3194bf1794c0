"""CPU of the per-host key on the request path (urls.host_key, in HostPool).

    .venv/bin/python bench/host_key.py [--base TREE] [--rounds 5]

Times, per call and in thread CPU: one request's steps on the host pool
(`take_now`, `record` while held, `leave`) for an idle host (its gate made
and dropped) and for a busy one (its gate held by another request), and
`url_bucket` for a plain URL. With `--base` (a checkout of an earlier
commit, e.g. `git worktree add /tmp/base HEAD~1`) each round runs the base
tree and this one alternately, in processes of their own; medians printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

N = 200_000
HOSTS = [f"news{i}.example.com" for i in range(100)]


def measure() -> dict[str, float]:
    from monitor.daemon.placement import url_bucket
    from monitor.http.hostpool import HostPool

    pool = HostPool(per_host=8)

    def requests() -> float:
        t = time.thread_time()
        for i in range(N):
            h = HOSTS[i % 100]
            g = pool.take_now(h)
            assert g is not None
            pool.record(h, 200, None)
            pool.leave(h, g)
        return (time.thread_time() - t) / N * 1e9

    requests()  # warm the caches
    idle = requests()
    held = [(h, pool.take_now(h)) for h in HOSTS]
    busy = requests()
    for h, g in held:
        assert g is not None
        pool.leave(h, g)
    plain = [f"https://news{i}.example.com/a/b" for i in range(100)]
    t = time.thread_time()
    for i in range(N):
        url_bucket(plain[i % 100])
    bucket = (time.thread_time() - t) / N * 1e9
    return {"idle_ns": idle, "busy_ns": busy, "url_bucket_ns": bucket}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        sys.path.insert(0, str(args.child))
        print(json.dumps(measure()))
        return
    here = Path(__file__).resolve().parents[1]
    trees = {"base": args.base, "this": here} if args.base else {"this": here}
    got: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(tree)],
                capture_output=True,
                text=True,
                check=True,
                cwd="/",
            ).stdout
            got[name].append(json.loads(out))
    for name, runs in got.items():
        medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(name, " ".join(f"{k}={v:.0f}" for k, v in medians.items()))


if __name__ == "__main__":
    main()
