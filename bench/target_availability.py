"""What a target's availability (24 h / 7 d / 30 d) costs its page and its API call.

Fills a database (the real migrations, then bulk INSERTs) with `--targets`
targets, each checked every 5 minutes for the last 30 days (8,640 results a
target, 1 in 50 failed) and rolled up for every finished day of the last
`--rollup-days` (default 365, the default `rollup_retention_days`); on
PostgreSQL each day's results sit in their partition, as the maintenance
leader makes them. Then times, for one target in the middle:

- `availability`: Repository.availability (the two reads and the arithmetic),
- `target`: Repository.target (the page's other reads), for scale,
- `page` and `api`: GET /targets/ID and /api/v1/targets/ID through the real
  endpoints server on 127.0.0.1 (one keep-alive connection), with the
  availability, and again with it left out (`page-without`, `api-without`).

Figures: p50 / p95 in milliseconds over `--repeat` calls. On PostgreSQL it
prints the plan of the results' read (EXPLAIN ANALYZE): the partitions it
touches and how.

    .venv/bin/python bench/target_availability.py --targets 100 --repeat 200
    bash scripts/with-postgres.sh sh -c \
      '.venv/bin/python bench/target_availability.py --pg "$ARTICLE_MONITOR_TEST_PG_URL"'
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine, insert, text

DAY_MS = 86_400_000
STEP_MS = 300_000  # every 5 minutes
PER_DAY = DAY_MS // STEP_MS


def fill(engine: Engine, targets: int, rollup_days: int, now: int) -> float:
    from monitor.storage import partitions
    from monitor.storage.migrate import upgrade
    from monitor.storage.store import RESULTS, ROLLUPS, TARGETS

    upgrade(engine)
    start = time.perf_counter()
    today = now // DAY_MS
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            partitions.ensure(conn, now, first_day=today - 31)
    with engine.begin() as conn:
        conn.execute(
            insert(TARGETS),
            [
                {
                    "id": t,
                    "url": f"https://news.test/{t}",
                    "kind": "web",
                    "state": "up",
                    "next_due": now + STEP_MS,
                    "active": 1,
                    "last_checked_at": now - STEP_MS,
                    "last_outcome": "ok",
                }
                for t in range(1, targets + 1)
            ],
        )
        for t in range(1, targets + 1):
            conn.execute(
                insert(RESULTS),
                [
                    {
                        "target_id": t,
                        "checked_at": now - 30 * DAY_MS + k * STEP_MS,
                        "outcome": 3 if k % 50 == 0 else 0,
                        "http_status": 200,
                        "latency_ms": 80,
                    }
                    for k in range(1, 30 * PER_DAY + 1)
                ],
            )
            conn.execute(
                insert(ROLLUPS),
                [
                    {
                        "target_id": t,
                        "day": d,
                        "checks": PER_DAY,
                        "counts": f"0:{PER_DAY - 6} 3:6",
                        "p50_ms": 80,
                        "p95_ms": 80,
                    }
                    for d in range(today - rollup_days, today)
                ],
            )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - start


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm
    took = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        took.append((time.perf_counter() - t0) * 1000)
    took.sort()
    return statistics.median(took), took[int(0.95 * (len(took) - 1))]


async def served(engine: Engine, tid: int, repeat: int, without: bool) -> dict[str, Any]:
    from monitor.availability import Share
    from monitor.observe.endpoints import MetricsServer
    from monitor.observe.metrics import DaemonMetrics
    from monitor.storage.repository import Repository

    repo = Repository(engine)
    if without:  # the page as before: no reads for it
        repo.availability = lambda *_: {n: Share() for n in ("24h", "7d", "30d")}  # type: ignore[method-assign]

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    srv = MetricsServer(DaemonMetrics(repo.snapshot), ready, listen="127.0.0.1:0", repo=repo)
    await srv.start()
    out: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for name, path in (("page", f"/targets/{tid}"), ("api", f"/api/v1/targets/{tid}")):
                took = []
                for i in range(repeat + 1):
                    t0 = time.perf_counter()
                    async with session.get(srv.url + path) as resp:
                        body = await resp.read()
                        assert resp.status == 200, body[:200]
                    if i:
                        took.append((time.perf_counter() - t0) * 1000)
                took.sort()
                out[name] = (statistics.median(took), took[int(0.95 * (len(took) - 1))])
    finally:
        await srv.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--rollup-days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) instead of SQLite")
    args = parser.parse_args()

    from monitor.storage.availability import queries
    from monitor.storage.engine import make_engine
    from monitor.storage.repository import Repository
    from monitor.storage.store import now_ms

    now = now_ms()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{Path(tmp) / 'am.db'}"
        engine = make_engine(url)
        took = fill(engine, args.targets, args.rollup_days, now)
        print(
            f"{engine.dialect.name}: {args.targets} targets x {30 * PER_DAY} results, "
            f"{args.rollup_days} rollup days each; filled in {took:.1f} s"
        )
        repo = Repository(engine)
        tid = args.targets // 2 + 1
        shares = repo.availability(tid, now_ms())
        print("  availability:", {n: (s.checks, s.up, s.ratio) for n, s in shares.items()})
        for name, fn in (
            ("availability", lambda: repo.availability(tid, now_ms())),
            ("target", lambda: repo.target(tid)),
        ):
            p50, p95 = timed(fn, args.repeat)
            print(f"  {name:<14} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        for without in (False, True):
            figures = asyncio.run(served(engine, tid, args.repeat, without))
            for name, (p50, p95) in figures.items():
                label = name + ("-without" if without else "")
                print(f"  {label:<14} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        if engine.dialect.name == "postgresql":
            raw, _ = queries(tid, now_ms())
            sql = str(raw.compile(engine, compile_kwargs={"literal_binds": True}))
            with engine.connect() as conn:
                plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql))
                print("  plan of the results' read:")
                for row in plan:
                    print("   ", row[0])
        engine.dispose()


if __name__ == "__main__":
    main()
