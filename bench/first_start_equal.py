"""Check: a fresh `run --once` leaves the same rows in every table on two trees.

Runs `run --once` on daemon_vs_check.py's corpus (N records, 5 URLs each, 50
hosts, small pages on bench/websim.py, loopback only) once per tree, each on a
fresh SQLite database, then compares every table's rows, as multisets, without
the columns a run stamps differently (times, latencies, row ids of history
tables, the soft-404 probes' random URLs, the meta values: instants and ids).
A step that changes how the first start writes (issue 16) must leave them
equal. Exit 1 on a difference (the first rows that differ printed). Usage:

    .venv/bin/python bench/first_start_equal.py --records 2000 --tree base=/tmp/base --tree head=.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_vs_lychee as cvl  # noqa: E402

# columns a run stamps (clock readings, latencies) or numbers by its order of writes
VOLATILE = {
    "at",
    "checked_at",
    "last_checked_at",
    "next_due",
    "due",
    "until",
    "updated_at",
    "scanned_at",
    "mtime_ns",
    "latency_ms",
    "expires",
    "recheck_at",
    "seen_at",
}
# columns a run draws at random: the soft-404 probes' URLs (a random path a site)
RANDOM = {("probe_answers", "url"), ("probe_answers", "final_url")}
# history tables whose `id` counts rows in the order the checks ended
ORDERED_IDS = {"check_results", "transitions", "signature_verifications", "target_events"}


def dump(db: Path) -> dict[str, collections.Counter[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out: dict[str, collections.Counter[tuple[object, ...]]] = {}
        for table in sorted(tables):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = [
                c
                for c in cols
                if c not in VOLATILE
                and (table, c) not in RANDOM
                and not (c == "id" and table in ORDERED_IDS)
            ]
            rows = conn.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall()
            if table == "meta":  # instants and run ids: the keys alone
                rows = [(r[0],) for r in rows]
            out[table] = collections.Counter(rows)
        return out
    finally:
        conn.close()


def compare(
    a_name: str,
    a: dict[str, collections.Counter[tuple[object, ...]]],
    b_name: str,
    b: dict[str, collections.Counter[tuple[object, ...]]],
) -> list[str]:
    """A line a table: equal, or DIFFER with up to three rows only on each side."""
    lines = []
    for table in sorted(set(a) | set(b)):
        x, y = a.get(table, collections.Counter()), b.get(table, collections.Counter())
        if x == y:
            lines.append(f"{table}: {x.total()} rows, equal ({a_name} and {b_name})")
            continue
        lines.append(f"{table}: DIFFER ({a_name} {x.total()} rows, {b_name} {y.total()})")
        lines += [f"    only {a_name}: {row}" for row in list((x - y).elements())[:3]]
        lines += [f"    only {b_name}: {row}" for row in list((y - x).elements())[:3]]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=2_000, help="x5 URLs [2000]")
    parser.add_argument("--tree", action="append", default=[], help="NAME=DIR (two or more)")
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.tree]
    if len(trees) < 2:
        parser.error("give two --tree NAME=DIR")
    work = Path(tempfile.mkdtemp(prefix="first_start_equal."))
    sim, banner = cvl.start_simulator(1, 3600, "auto", "small", 20.0)
    dumps = {}
    try:
        port, hosts = banner["port"], banner["hosts"]
        corpus = cvl.make_corpus(args.records, port, [cvl.host_name(h) for h in hosts])
        (work / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
        common = ["--allow-network", "127.0.0.0/8", "--concurrency", "128", "--per-host", "8"]
        common += ["--retries", "0", "--timeout", "20", "--listen", "127.0.0.1:0"]
        for h in hosts:
            common += ["--connect-to", f"{cvl.host_name(h)}:{port}:{h}:{port}"]
        for name, tree in trees:
            data = work / f"db-{name}"
            env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
            argv = [sys.executable, "-m", "monitor", "run", str(work / "c.jsonl"), "--once"]
            argv += ["--data-dir", str(data), *common]
            with (work / f"{name}.log").open("w") as log:
                code = subprocess.run(
                    argv, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=log, timeout=900
                ).returncode
            if code not in (0, 1):
                print((work / f"{name}.log").read_text()[-3000:], file=sys.stderr)
                return 2
            (db,) = data.glob("*.db")
            dumps[name] = dump(db)
    finally:
        cvl.stop_simulator(sim)
    first, *others = trees
    differ = 0
    for name, _ in others:
        lines = compare(first[0], dumps[first[0]], name, dumps[name])
        differ += sum(1 for line in lines if " DIFFER " in line)
        print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
