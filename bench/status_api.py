"""How fast the status API pages through targets at 1,000,000 (loopback only).

Fills a SQLite database (the real migrations, then bulk INSERTs through
sqlite3) with N targets, a fraction of them down, one article reference and
one transition per down target; starts the real endpoints server
(MetricsServer with the repository) in a child process on 127.0.0.1; then,
over one keep-alive connection, times `GET /api/v1/targets?state=down&limit=100`
at the first page and at deep cursors (10 %, 50 %, 90 % into the down
targets), plus the other filters. Its peer, measured in the same run, is
the same read without HTTP: `Repository.list_targets` on the same query in
this process (SQL and row building). Figures: p50 / p95 in milliseconds.

    .venv/bin/python bench/status_api.py --targets 1000000 --repeat 50
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KINDS = ("web", "amp", "cdn", "image")


def fill(db: Path, n: int, down_every: int) -> float:
    """N targets (every `down_every`-th down), in bulk; returns seconds taken."""
    from monitor.storage.engine import make_engine
    from monitor.storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    t0 = 1_700_000_000_000
    n_articles = max(1, n // 5)
    with conn:
        conn.executemany(
            "INSERT INTO articles (id, source, line, web_url, title, provider, content_hash,"
            " problems, signature_status, signature_fields, updated_at)"
            " VALUES (?, ?, 1, ?, ?, ?, '', '', 'valid', '', ?)",
            (
                (
                    f"{a:016x}",
                    f"corpus/{a}.txt",
                    f"https://p{a % 500}.test/a/{a}",
                    f"Story {a}",
                    f"p{a % 500}.test",
                    t0,
                )
                for a in range(n_articles)
            ),
        )
        conn.executemany(
            "INSERT INTO targets (id, url, kind, provider, state, fails, succs, next_due, active,"
            " last_checked_at, last_outcome, last_status, last_problems)"
            " VALUES (?, ?, ?, ?, ?, 0, 0, ?, 1, ?, ?, ?, ?)",
            (
                (
                    i,
                    f"https://p{i % 500}.test/t/{i}",
                    KINDS[i % 4],
                    f"p{i % 500}.test",
                    "down" if i % down_every == 0 else "up",
                    t0 + i,
                    t0,
                    "not_found" if i % down_every == 0 else "ok",
                    404 if i % down_every == 0 else 200,
                    "slow_response" if i % 97 == 0 else "",
                )
                for i in range(1, n + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO article_targets (article_id, path, target_id, kind, origin)"
            " VALUES (?, ?, ?, ?, 'article')",
            ((f"{i % n_articles:016x}", f"f{i}", i, KINDS[i % 4]) for i in range(1, n + 1)),
        )
        conn.executemany(
            "INSERT INTO transitions (target_id, at, from_state, to_state, outcome, problems)"
            " VALUES (?, ?, 'up', 'down', 'not_found', '')",
            ((i, t0) for i in range(down_every, n + 1, down_every)),
        )
    conn.close()  # no ANALYZE: the daemon runs none, so its plans are made without statistics
    return time.perf_counter() - start


def serve(db: Path) -> None:
    """Child process: the real endpoints server on 127.0.0.1, until stdin closes."""
    import asyncio

    from monitor.observe.endpoints import MetricsServer
    from monitor.observe.metrics import DaemonMetrics
    from monitor.storage.engine import make_engine
    from monitor.storage.repository import Repository

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    async def main() -> None:
        repo = Repository(make_engine(f"sqlite:///{db}"))
        metrics = DaemonMetrics(repo.snapshot)
        await asyncio.to_thread(metrics.state.refresh)  # as the daemon keeps it fresh
        server = MetricsServer(metrics, ready, listen="127.0.0.1:0", repo=repo)
        await server.start()
        print(server.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await server.stop()

    asyncio.run(main())


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=1_000_000)
    ap.add_argument("--down-every", type=int, default=20, help="every Nth target is down")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--db", type=Path, help="reuse (or keep) this database file")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return

    from monitor.observe.status.filters import encode_cursor, filters_of, target_query
    from monitor.storage.engine import make_engine
    from monitor.storage.repository import Repository

    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "status.db"
    fill_s = None
    if not db.exists():
        fill_s = fill(db, args.targets, args.down_every)
        print(f"filled {args.targets:,} targets in {fill_s:.1f} s", file=sys.stderr)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        repo = Repository(make_engine(f"sqlite:///{db}"))
        downs = args.targets // args.down_every

        def position(fraction: float) -> int:
            return max(1, int(downs * fraction)) * args.down_every

        cases: list[tuple[str, str]] = [("state=down, first page", "state=down&limit=100")]
        for fraction in (0.1, 0.5, 0.9):
            cursor = encode_cursor(position(fraction), filters_of({"state": "down"}))
            cases.append(
                (f"state=down, cursor {fraction:.0%} deep", f"state=down&limit=100&cursor={cursor}")
            )
        cases += [
            ("state=down&kind=image", "state=down&kind=image&limit=100"),
            ("state=down&provider=p20.test", "state=down&provider=p20.test&limit=100"),
            ("problem=slow_response", "problem=slow_response&limit=100"),
            ("q=/t/12345 (no index: windowed)", "q=%2Ft%2F12345&limit=100"),
            ("all targets, first page", "limit=100"),
        ]
        rows = []
        random.seed(1)
        for name, query in cases:

            def over_http(query: str = query) -> None:
                conn.request("GET", "/api/v1/targets?" + query)
                resp = conn.getresponse()
                body = resp.read()
                assert resp.status == 200, body[:200]

            parsed = target_query(
                [tuple(p.split("=", 1)) for p in query.split("&")]  # type: ignore[misc]
            )

            def raw(parsed: Any = parsed) -> None:
                repo.list_targets(parsed)

            http_ms = percentiles(timed(over_http, args.repeat))
            sql_ms = percentiles(timed(raw, args.repeat))
            rows.append(
                {
                    "case": name,
                    "http_p50": http_ms[0],
                    "http_p95": http_ms[1],
                    "read_p50": sql_ms[0],
                    "read_p95": sql_ms[1],
                }
            )
        # the pages people open from an alert, through the same server (no peer)
        for name, path in (
            ("page /targets?state=down (HTML)", "/targets?state=down"),
            ("page / (overview, HTML)", "/"),
            ("/api/v1/status", "/api/v1/status"),
        ):

            def page(path: str = path) -> None:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                assert resp.status == 200, body[:200]

            p50, p95 = percentiles(timed(page, args.repeat))
            rows.append({"case": name, "http_p50": p50, "http_p95": p95})
        print(f"{args.targets:,} targets, {downs:,} down; {args.repeat} requests per case")
        print(f"{'case':<36} {'HTTP p50':>9} {'HTTP p95':>9} {'read p50':>9} {'read p95':>9}  (ms)")
        for r in rows:
            peer = (
                f"{r['read_p50']:>9.2f} {r['read_p95']:>9.2f}"
                if "read_p50" in r
                else f"{'—':>9} {'—':>9}"
            )
            print(f"{r['case']:<36} {r['http_p50']:>9.2f} {r['http_p95']:>9.2f} {peer}")
        if args.json:
            print(json.dumps({"targets": args.targets, "fill_s": fill_s, "cases": rows}))
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
