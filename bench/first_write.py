"""Benchmark: the daemon's first corpus write, alone (issue 16, `run --once` on a fresh database).

Writes daemon_vs_check.py's corpus (N records, 5 URLs each, 50 hosts) and runs
the daemon's first scan on it (`CorpusScanner.scan`: read, audit, store) into
a fresh SQLite file made by the migrations, no network, in a child process per
run: process CPU of the scan, the write lock's hold per transaction (the time
claims and result writes wait behind it), and with --sql the driver's CPU per
statement. `--tree LABEL=DIR` (repeatable) runs the package at DIR (a `git
worktree`) in the same rounds, interleaved; medians. Usage:

    .venv/bin/python bench/first_write.py --records 10000 --rounds 7 --tree base=/tmp/base
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(corpus: Path, sql: bool) -> dict[str, Any]:
    """One first scan in this process; its figures."""
    from sqlalchemy import event

    from monitor.config import Settings
    from monitor.daemon.scan import CorpusScanner
    from monitor.secured.keys import KeyRing
    from monitor.storage import migrate
    from monitor.storage.opening import open_database
    from monitor.storage.repository import Repository

    db = Path(tempfile.mkdtemp(prefix="first_write.")) / "m.db"
    engine = open_database(f"sqlite:///{db}", create=True)
    migrate.upgrade(engine)
    repo = Repository(engine)
    holds: list[float] = []
    write = Repository._write

    @contextlib.contextmanager
    def timed(self: Repository) -> Iterator[Any]:
        with write(self) as conn:
            start = time.perf_counter()
            yield conn
            holds.append(time.perf_counter() - start)

    Repository._write = timed  # type: ignore[method-assign,assignment]
    per_sql: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    if sql:

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, *_: Any) -> None:
            conn.info["t0"] = time.process_time()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            entry = per_sql[" ".join(statement.split())[:60]]
            entry[0] += 1
            entry[1] += time.process_time() - conn.info["t0"]

    scanner = CorpusScanner(repo, Settings(paths=[str(corpus)]), KeyRing([]))
    cpu, wall = time.process_time(), time.perf_counter()
    scanner.scan()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with engine.connect() as conn:
        due = conn.exec_driver_sql("SELECT count(*) FROM due_queue").scalar()
    return {
        "cpu": cpu,
        "wall": wall,
        "due": due,
        "holds": holds,
        "sql": {k: v for k, v in per_sql.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="x5 URLs [10000]")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", action="append", default=[], help="LABEL=DIR (repeatable)")
    parser.add_argument("--sql", action="store_true", help="driver CPU per statement")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child), args.sql)))
        return 0
    sys.path.insert(0, str(HERE))
    import check_vs_lychee as cvl

    work = Path(tempfile.mkdtemp(prefix="first_write."))
    corpus = work / "once.jsonl"
    hosts = [cvl.host_name(f"127.0.0.{i}") for i in range(1, 51)]
    recs = cvl.make_corpus(args.records, 8080, hosts)
    corpus.write_text("".join(json.dumps(r) + "\n" for r in recs))
    trees = [("this", str(ROOT))] + [tuple(t.split("=", 1)) for t in args.tree]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in trees}
    for _ in range(args.rounds):
        for label, tree in trees:
            env = {**os.environ, "PYTHONPATH": tree}
            cmd = [sys.executable, __file__, "--child", str(corpus)] + (
                ["--sql"] if args.sql else []
            )
            out = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, timeout=600)
            if out.returncode:
                sys.stderr.write(out.stderr)
                return 1
            runs[label].append(json.loads(out.stdout))
    for label, got in runs.items():
        cpus = sorted(r["cpu"] for r in got)
        holds = [statistics.median(r["holds"]) for r in got]
        held = [sum(r["holds"]) for r in got]
        print(
            f"{label:>8}: scan CPU {statistics.median(cpus):.3f} s"
            f" (rounds {' '.join(f'{c:.2f}' for c in cpus)});"
            f" write lock held {statistics.median(holds) * 1000:.1f} ms a transaction,"
            f" {statistics.median(held):.2f} s in all ({len(got[0]['holds'])} transactions);"
            f" {got[0]['due']} targets queued"
        )
        if args.sql:
            last = got[-1]["sql"]
            for stmt, (n, t) in sorted(last.items(), key=lambda kv: -kv[1][1])[:10]:
                print(f"          {t:6.3f} s {n:4d}x  {stmt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
