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

With `--list`, the lists instead: the 24 h availability of a page of targets
(`--pages`, default 100 and 1000: the HTML list's page and the API's largest),
read in one statement (Repository.availability_24h), against the page's read
without it:

- `list` and `list+24h`: Repository.list_targets alone, and with the page's
  availability_24h after it (what the status source does),
- `24h`: availability_24h alone,
- `html` and `api`: GET /targets?limit=N and /api/v1/targets?limit=N (with
  `availability=24h`, the API's opt-in) through the real server, and the same
  with the read left out (`-without`: the lists as before).

Figures: p50 / p95 in milliseconds over `--repeat` calls. On PostgreSQL it
prints the plan of the results' read (EXPLAIN ANALYZE): the partitions it
touches and how.

    .venv/bin/python bench/target_availability.py --targets 100 --repeat 200
    bash scripts/with-postgres.sh sh -c \
      '.venv/bin/python bench/target_availability.py --pg "$ARTICLE_MONITOR_TEST_PG_URL"'
    .venv/bin/python bench/target_availability.py --list --targets 1000 --days 30 --repeat 100
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


def fill(engine: Engine, targets: int, rollup_days: int, now: int, days: int = 30) -> float:
    from monitor.storage import partitions
    from monitor.storage.migrate import upgrade
    from monitor.storage.store import RESULTS, ROLLUPS, TARGETS

    upgrade(engine)
    start = time.perf_counter()
    today = now // DAY_MS
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            partitions.ensure(conn, now, first_day=today - days - 1)
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
                        "checked_at": now - days * DAY_MS + k * STEP_MS,
                        "outcome": 3 if k % 50 == 0 else 0,
                        "http_status": 200,
                        "latency_ms": 80,
                    }
                    for k in range(1, days * PER_DAY + 1)
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


async def listed(engine: Engine, size: int, repeat: int, without: bool) -> dict[str, Any]:
    """GET /targets and /api/v1/targets (`availability=24h`) of `size` items."""
    from monitor.availability import Share
    from monitor.observe.endpoints import MetricsServer
    from monitor.observe.metrics import DaemonMetrics
    from monitor.storage.repository import Repository

    repo = Repository(engine)
    if without:  # the lists as before: no read for it
        repo.availability_24h = lambda ids, _: {t: Share() for t in ids}  # type: ignore[method-assign,assignment]

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    srv = MetricsServer(DaemonMetrics(repo.snapshot), ready, listen="127.0.0.1:0", repo=repo)
    await srv.start()
    out: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for name, path in (
                ("html", f"/targets?limit={size}"),
                ("api", f"/api/v1/targets?limit={size}&availability=24h"),
            ):
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


def lists(engine: Engine, args: argparse.Namespace) -> None:
    from monitor.storage.availability import page_query
    from monitor.storage.listing import TargetQuery
    from monitor.storage.repository import Repository
    from monitor.storage.store import now_ms

    repo = Repository(engine)
    for size in args.pages:
        query = TargetQuery(limit=size)
        ids = [row["id"] for row in repo.list_targets(query).items]
        shares = repo.availability_24h(ids, now_ms())
        checks = sorted({s.checks for s in shares.values()})
        print(f"  page of {len(ids)}: checks over 24 h per target {checks}")

        def with_it(q: TargetQuery = query) -> None:
            page = repo.list_targets(q)
            repo.availability_24h([row["id"] for row in page.items], now_ms())

        for name, fn in (
            ("list", lambda q=query: repo.list_targets(q)),
            ("list+24h", with_it),
            ("24h", lambda i=ids: repo.availability_24h(i, now_ms())),
        ):
            p50, p95 = timed(fn, args.repeat)
            print(f"  {size:>5} {name:<14} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        for without in (False, True):
            figures = asyncio.run(listed(engine, size, args.repeat, without))
            for name, (p50, p95) in figures.items():
                label = name + ("-without" if without else "")
                print(f"  {size:>5} {label:<14} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        if engine.dialect.name == "postgresql":
            sql = str(
                page_query(ids, now_ms()).compile(engine, compile_kwargs={"literal_binds": True})
            )
            with engine.connect() as conn:
                plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql))
                print(f"  plan of the read for {size}:")
                for row in plan:
                    print("   ", row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--rollup-days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--days", type=int, default=30, help="days of results a target")
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--list", action="store_true", help="the lists' 24 h read instead")
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()

    from monitor.storage.availability import queries
    from monitor.storage.engine import make_engine
    from monitor.storage.repository import Repository
    from monitor.storage.store import now_ms

    now = now_ms()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{Path(tmp) / 'am.db'}"
        engine = make_engine(url)
        took = fill(engine, args.targets, args.rollup_days, now, args.days)
        print(
            f"{engine.dialect.name}: {args.targets} targets x {args.days * PER_DAY} results, "
            f"{args.rollup_days} rollup days each; filled in {took:.1f} s"
        )
        if args.list:
            lists(engine, args)
            engine.dispose()
            return
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
