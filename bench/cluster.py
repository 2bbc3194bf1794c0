"""Cluster figures on PostgreSQL (issue 14).

  scripts/with-postgres.sh .venv/bin/python bench/cluster.py claims --targets 1000000
  scripts/with-postgres.sh .venv/bin/python bench/cluster.py members --members 1,2,3

`claims`: fills a fresh schema with N targets (hosts spread over 5,000 names)
all due, then times claims of 1,000 (median, p95) for a member alone (no
filter) and for one of three members (its third of the host buckets), a batch
of 500 results; then adds --results synthetic results (one check per target
per step, a day's timestamps) and reports, per table, heap and index bytes per
row, the schema's total size, and what retention by DELETE costs (deleting the
older half of the results), against the DROP of a partition: the inputs of the
capacity plan in docs/scaling.md.

`members`: starts bench/websim.py (loopback only) and, for each member count,
a fresh schema with --targets web targets spread over its hosts, then that
many `article-monitor run` processes with the per-host limits in force
(`--per-host 4`, minimum interval 0); counts results committed over
--seconds once every member has joined, and the CPU seconds of the members
and of PostgreSQL's processes over the same window.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, text

from monitor.daemon.placement import buckets_of, url_bucket
from monitor.daemon.state import State, TargetState
from monitor.storage import partitions
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DUE, TARGETS, CheckRecord, Repository, now_ms

CLI = str(Path(sys.executable).with_name("article-monitor"))
PG = os.environ.get("ARTICLE_MONITOR_TEST_PG_URL", "")


def schema_url(admin: Engine) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG else "?"
    return schema, f"{PG}{sep}options=-csearch_path%3D{schema}"


def fill(engine: Engine, urls: list[str], due: int) -> None:
    chunk = 20_000
    with engine.begin() as conn:
        for lo in range(0, len(urls), chunk):
            rows = [
                {
                    "id": i + 1,
                    "url": u,
                    "kind": "web",
                    "provider": "p.test",
                    "state": "up",
                    "fails": 0,
                    "succs": 1,
                    "next_due": due - (i % 3_600_000),
                    "active": 1,
                    "last_problems": "",
                    "bucket": url_bucket(u),
                }
                for i, u in enumerate(urls[lo : lo + chunk], start=lo)
            ]
            conn.execute(TARGETS.insert(), rows)
            conn.execute(
                DUE.insert(),
                [{"due": r["next_due"], "target_id": r["id"], "bucket": r["bucket"]} for r in rows],
            )
        conn.execute(text("ANALYZE"))


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def claims(args: argparse.Namespace) -> dict[str, Any]:
    admin = make_engine(PG)
    schema, url = schema_url(admin)
    engine = make_engine(url)
    try:
        upgrade(engine)
        t = time.perf_counter()
        fill(engine, [f"http://h{i % 5000}.test/a/{i}" for i in range(args.targets)], now_ms())
        filled = time.perf_counter() - t
        repo = Repository(engine)
        third = buckets_of("a", ["a", "b", "c"])
        out: dict[str, Any] = {"targets": args.targets, "fill_s": round(filled, 1)}
        for name, buckets in (("alone", None), ("one_of_three", third)):
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                got = repo.claim_due(now_ms(), 1000, 300_000, buckets)
                times.append((time.perf_counter() - t) * 1000)
                assert len(got) == 1000, len(got)
            out[f"claim_{name}_ms"] = {
                "median": round(statistics.median(times), 1),
                "p95": round(p95(times), 1),
            }
        claimed = repo.claim_due(now_ms(), 500, 300_000)
        up = TargetState(State.UP, 0, 2)
        at = now_ms()
        t = time.perf_counter()
        repo.record(
            [
                CheckRecord(c.id, c.lease, at, 0, "ok", 200, 87, (), c.state, up, at + 3_600_000)
                for c in claimed
            ]
        )
        out["record_500_ms"] = round((time.perf_counter() - t) * 1000, 1)
        out.update(results_fill(engine, args.results, args.targets))
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            sizes = {}
            for table in ("targets", "due_queue", "leases", "check_results", "article_targets"):
                heap, index, rows = conn.execute(
                    text(
                        # a partitioned table's size is its partitions' (a plain
                        # table is not in any partition tree: its own)
                        "SELECT sum(pg_table_size(r)), sum(pg_indexes_size(r)),"
                        f" (SELECT count(*) FROM {table}) FROM (SELECT relid AS r"
                        " FROM pg_partition_tree(:t) UNION SELECT CAST(:t AS regclass)) AS x"
                    ),
                    {"t": f"{schema}.{table}"},
                ).one()
                heap, index = int(heap), int(index)
                sizes[table] = {
                    "rows": rows,
                    "bytes": heap + index,
                    "heap_bytes_per_row": round(heap / rows, 1) if rows else None,
                    "index_bytes_per_row": round(index / rows, 1) if rows else None,
                    "bytes_per_row": round((heap + index) / rows, 1) if rows else None,
                }
            out["sizes"] = sizes
            out["schema_bytes"] = int(
                conn.execute(
                    text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = :s AND c.relkind IN ('r', 'm', 'p')"
                    ),
                    {"s": schema},
                ).scalar_one()
            )
            plan = conn.execute(
                text(
                    "EXPLAIN SELECT due, target_id FROM due_queue"
                    " WHERE due <= :now AND coalesce(bucket, 0) IN (1, 2, 3)"
                    " ORDER BY due, target_id LIMIT 1000"
                    " FOR UPDATE OF due_queue SKIP LOCKED"
                ),
                {"now": now_ms()},
            ).scalars()
            out["claim_plan_one_of_three"] = [str(p) for p in plan]
        out["retention_delete"] = delete_half(engine)
        out["retention_drop"] = drop_a_day(engine, args.results // 2, args.targets)
        return out
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def results_fill(engine: Engine, n: int, targets: int) -> dict[str, Any]:
    """`n` results in `check_results`, as the writer leaves them: one per check,
    mostly `ok` with no problems, timestamps a day apart per target."""
    if n <= 0:
        return {}
    t0 = now_ms() - 86_400_000
    t = time.perf_counter()
    with engine.begin() as conn:
        lo = conn.execute(text("SELECT min(id) FROM targets")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO check_results (target_id, checked_at, outcome, http_status,"
                " latency_ms, problems)"
                " SELECT :lo + g % :targets, :t0 + g, CASE WHEN g % 50 = 0 THEN 2 ELSE 0 END,"
                " CASE WHEN g % 50 = 0 THEN 404 ELSE 200 END, 40 + g % 400, NULL"
                " FROM generate_series(1, :n) AS g"
            ),
            {"lo": lo, "targets": targets, "t0": t0, "n": n},
        )
    return {"results_filled": n, "results_fill_s": round(time.perf_counter() - t, 1)}


def delete_half(engine: Engine) -> dict[str, Any]:
    """Retention as it is now: DELETE the older half of the results (a day's
    worth at 10M targets is 160M rows); the time, per million rows."""
    with engine.begin() as conn:
        lo, hi = conn.execute(
            text("SELECT min(checked_at), max(checked_at) FROM check_results")
        ).one()
        if lo is None:
            return {}
        t = time.perf_counter()
        gone = conn.execute(
            text("DELETE FROM check_results WHERE checked_at < :mid"), {"mid": (lo + hi) // 2}
        ).rowcount
    took = time.perf_counter() - t
    return {
        "rows": gone,
        "seconds": round(took, 2),
        "seconds_per_million": round(took / gone * 1e6, 2) if gone else None,
    }


def drop_a_day(engine: Engine, n: int, targets: int) -> dict[str, Any]:
    """Retention by partition (migration 0008): `n` results put in yesterday's
    partition, then every day before today dropped; the time it takes."""
    today = now_ms() // partitions.DAY_MS
    with engine.begin() as conn:
        if not partitions.partitioned(conn):
            return {}
        lo = conn.execute(text("SELECT min(id) FROM targets")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO check_results (target_id, checked_at, outcome, http_status,"
                " latency_ms, problems)"
                " SELECT :lo + g % :targets, :t0 + g, 0, 200, 40 + g % 400, NULL"
                " FROM generate_series(1, :n) AS g"
            ),
            {"lo": lo, "targets": targets, "t0": (today - 1) * partitions.DAY_MS, "n": n},
        )
    t = time.perf_counter()
    with engine.begin() as conn:
        dropped = partitions.drop_before(conn, today * partitions.DAY_MS)
    return {"rows": n, "partitions": dropped, "seconds": round(time.perf_counter() - t, 3)}


def pg_cpu() -> float:
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if p.info["name"] and p.info["name"].startswith("postgres"):
            try:
                c = p.cpu_times()
                total += c.user + c.system
            except psutil.Error:
                pass
    return total


def members(args: argparse.Namespace) -> list[dict[str, Any]]:
    sim = subprocess.Popen(
        [
            sys.executable,
            "bench/websim.py",
            "--hosts",
            str(args.hosts),
            "--shape",
            "small",
            "--max-seconds",
            "3600",
        ],
        stdout=subprocess.PIPE,
    )
    assert sim.stdout is not None
    info = json.loads(sim.stdout.readline())
    port = info["port"]
    results = []
    try:
        for n in [int(x) for x in args.members.split(",")]:
            results.append(run_members(n, port, args))
    finally:
        sim.terminate()
        sim.wait(10)
    return results


def run_members(n: int, port: int, args: argparse.Namespace) -> dict[str, Any]:
    admin = make_engine(PG)
    schema, url = schema_url(admin)
    engine = make_engine(url)
    upgrade(engine)
    hosts = [f"127.0.0.{i + 1}" for i in range(args.hosts)]
    urls = [f"http://{hosts[i % len(hosts)]}:{port}/news/s{i}.html" for i in range(args.targets)]
    fill(engine, urls, now_ms())
    tmp = Path(tempfile.mkdtemp(prefix="am-cluster-"))
    corpus = tmp / "corpus"
    corpus.mkdir()
    procs = []
    try:
        for i in range(n):
            log = (tmp / f"m{i}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [
                        CLI,
                        "run",
                        str(corpus),
                        "--db",
                        url,
                        "--listen",
                        "127.0.0.1:0",
                        "--allow-network",
                        "127.0.0.0/8",
                        "--kinds",
                        "web",
                        "--per-host",
                        "4",
                        "--concurrency",
                        str(args.concurrency),
                        "--interval",
                        "86400",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
        repo = Repository(engine)
        deadline = time.monotonic() + 120
        while len(repo.cluster(10_000).live) < n and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # handover settled, every member claiming
        ps = [psutil.Process(p.pid) for p in procs]
        count = text("SELECT count(*) FROM check_results")
        with engine.connect() as conn:
            before = conn.execute(count).scalar_one()
        cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in ps)
        pg0 = pg_cpu()
        t = time.monotonic()
        time.sleep(args.seconds)
        with engine.connect() as conn:
            after = conn.execute(count).scalar_one()
        wall = time.monotonic() - t
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in ps) - cpu0
        pg = pg_cpu() - pg0
        return {
            "members": n,
            "checks_per_s": round((after - before) / wall, 1),
            "members_cpu_s_per_s": round(cpu / wall, 2),
            "postgres_cpu_s_per_s": round(pg / wall, 2),
            "postgres_share_of_cpu": round(pg / (pg + cpu), 3) if pg + cpu else None,
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    if not PG:
        sys.exit("run under scripts/with-postgres.sh (ARTICLE_MONITOR_TEST_PG_URL)")
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("claims")
    c.add_argument("--targets", type=int, default=1_000_000)
    c.add_argument("--rounds", type=int, default=20)
    c.add_argument("--results", type=int, default=2_000_000)
    m = sub.add_parser("members")
    m.add_argument("--members", default="1,2,3")
    m.add_argument("--targets", type=int, default=200_000)
    m.add_argument("--hosts", type=int, default=50)
    m.add_argument("--seconds", type=float, default=20)
    m.add_argument("--concurrency", type=int, default=200)
    args = ap.parse_args()
    out = claims(args) if args.cmd == "claims" else members(args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
