"""Daemon scale figures with SQLite (issue 4).

  .venv/bin/python bench/daemon_claims.py [--targets 1000000] [--daemon-seconds 20]

1. claim latency: batches of 1,000 due targets out of --targets (goal < 50 ms),
   median and p95, with a peer measured alternately in the same run (a plain
   `SELECT ... LIMIT 1000` of the same columns from `targets`) and the ratio,
   since the machine is shared; and the metrics snapshot's time;
2. batched result inserts per second through Repository.record;
3. peak RSS of a real `article-monitor run` holding that database (goal < 300 MB):
   its targets are loopback URLs that the SSRF guard answers `blocked`
   without sending a packet, so the daemon runs its full claim → check →
   write loop at speed and nothing leaves the machine;
4. disk: bytes per check_results row (PK included) measured on an hourly
   sample, and the arithmetic for 100,000 targets hourly for 30 days (< 2 GB).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from sqlalchemy import text

from monitor.daemon.rollup import rollup_row
from monitor.daemon.state import State, TargetState
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import (
    DUE,
    RESULTS,
    TARGETS,
    CheckRecord,
    Claimed,
    Repository,
    now_ms,
)

CLI = str(Path(sys.executable).with_name("article-monitor"))


def fill_targets(repo: Repository, n: int, due: int) -> float:
    started = time.perf_counter()
    chunk = 50_000
    with repo.engine.begin() as conn:
        for lo in range(0, n, chunk):
            rows = [
                {
                    "id": i + 1,
                    "url": f"http://127.0.0.1:9/{i}",
                    "kind": "web" if i % 4 else "image",
                    "provider": f"p{i % 500}.test",
                    "state": "up" if i % 50 else "down",
                    "fails": 0,
                    "succs": 1,
                    "next_due": due - random.randrange(3_600_000),
                    "active": 1,
                    "last_problems": "" if i % 20 else "slow_response",
                }
                for i in range(lo, min(n, lo + chunk))
            ]
            conn.execute(TARGETS.insert(), rows)
            conn.execute(DUE.insert(), [{"due": r["next_due"], "target_id": r["id"]} for r in rows])
    return time.perf_counter() - started


PEER = text("SELECT id, url, kind, state, fails, succs FROM targets WHERE id > :lo LIMIT 1000")


def bench_claims(repo: Repository, rounds: int = 30) -> tuple[list[float], list[float]]:
    """Claim times and, alternately, the peer's (a plain read of as many rows)."""
    times, peer = [], []
    top = repo.max_target_id()
    for _ in range(rounds):
        repo.checkpoint()  # the daemon's checkpoint job, off the claim path
        t = time.perf_counter()
        got = repo.claim_due(now_ms(), 1000, 300_000)
        times.append((time.perf_counter() - t) * 1000)
        assert len(got) == 1000
        with repo.engine.connect() as conn:
            t = time.perf_counter()
            n = len(conn.execute(PEER, {"lo": random.randrange(top - 1000)}).all())
            peer.append((time.perf_counter() - t) * 1000)
        assert n == 1000
    return times, peer


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def bench_inserts(repo: Repository, batches: int = 40, size: int = 500) -> float:
    claims: list[Claimed] = []
    while len(claims) < batches * size:
        claims.extend(repo.claim_due(now_ms(), 1000, 300_000))
    up = TargetState(State.UP, 0, 2)
    t = time.perf_counter()
    for b in range(batches):
        at = now_ms()
        repo.record(
            [
                CheckRecord(c.id, c.lease, at, 0, "ok", 200, 87, (), c.state, up, at + 3_600_000)
                for c in claims[b * size : (b + 1) * size]
            ]
        )
    return batches * size / (time.perf_counter() - t)


def daemon_rss(db_url: str, tmp: Path, seconds: float) -> tuple[float, int, float]:
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "http://127.0.0.1:9/article"\n---\n')
    log = (tmp / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [
            CLI,
            "run",
            str(corpus),
            "--db",
            db_url,
            "--listen",
            "127.0.0.1:0",
            "--concurrency",
            "500",
            "--kinds",
            "web,image",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    ps = psutil.Process(proc.pid)
    peak = 0
    scrape_ms = float("nan")
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            peak = max(peak, ps.memory_info().rss)
            time.sleep(0.2)
        text = (tmp / "daemon.log").read_text(errors="replace")
        url = next((w for w in text.split() if w.startswith("http://127.0.0.1:")), None)
        if url:
            scrapes = []
            for _ in range(5):
                t = time.perf_counter()
                with urllib.request.urlopen(url + "/metrics", timeout=30) as resp:
                    resp.read()
                scrapes.append((time.perf_counter() - t) * 1000)
            scrape_ms = statistics.median(scrapes)
            peak = max(peak, ps.memory_info().rss)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    checked = con.execute("select count(*) from check_results").fetchone()[0]
    con.close()
    return peak / 2**20, checked, scrape_ms


def bytes_per_result(tmp: Path, targets: int = 10_000, hours: int = 72) -> tuple[float, float]:
    """Hourly checks of `targets`, interleaved as the daemon writes them."""
    engine = make_engine(f"sqlite:///{tmp / 'size.db'}")
    upgrade(engine)
    repo = Repository(engine)
    t0 = 1_700_000_000_000
    ids = list(range(1, targets + 1))
    rows = 0
    with engine.begin() as conn:
        conn.execute(
            TARGETS.insert(),
            [
                {
                    "url": f"u{i}",
                    "kind": "web",
                    "state": "up",
                    "fails": 0,
                    "succs": 0,
                    "last_problems": "",
                }
                for i in ids
            ],
        )
    for h in range(hours):
        random.shuffle(ids)
        batch = [
            {
                "target_id": i,
                "checked_at": t0 + h * 3_600_000 + random.randrange(3_600_000),
                "outcome": 0 if random.random() < 0.97 else 3,
                "http_status": 200,
                "latency_ms": random.randrange(40, 900),
                "problems": None,
            }
            for i in ids
        ]
        with engine.begin() as conn:
            conn.execute(RESULTS.insert(), batch)
        rows += len(batch)
    # rollups of the sample's days
    days = {}
    for day in range(t0 // 86_400_000, (t0 + hours * 3_600_000) // 86_400_000 + 1):
        by_target = repo.day_results(day, 0, targets + 1)
        rollups = [rollup_row(t, day, s) for t, s in by_target.items()]
        repo.store_rollups(rollups)
        days[day] = len(rollups)
    engine.dispose()
    con = sqlite3.connect(tmp / "size.db")
    con.execute("pragma wal_checkpoint(TRUNCATE)")
    try:
        size = {
            name: total
            for name, total in con.execute(
                "select name, sum(pgsize) from dbstat where name in ('check_results', 'rollups') "
                "group by name"
            )
        }
    finally:
        con.close()
    return size["check_results"] / rows, size["rollups"] / sum(days.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--targets", type=int, default=1_000_000)
    ap.add_argument("--daemon-seconds", type=float, default=20.0)
    args = ap.parse_args()
    random.seed(4)
    with tempfile.TemporaryDirectory(prefix="am-bench-") as d:
        tmp = Path(d)
        url = f"sqlite:///{tmp / 'big.db'}"
        engine = make_engine(url)
        upgrade(engine)
        repo = Repository(engine)
        fill_s = fill_targets(repo, args.targets, now_ms())
        print(f"targets in SQLite:           {args.targets:,} (filled in {fill_s:.1f} s)")
        load = os.getloadavg()
        claims, peer = bench_claims(repo)
        med, peer_med = statistics.median(claims), statistics.median(peer)
        print(
            f"claim 1,000 due targets:     median {med:.1f} ms, p95 {p95(claims):.1f} ms, "
            f"max {max(claims):.1f} ms over {len(claims)} claims (goal < 50 ms)"
        )
        print(
            f"peer (SELECT 1,000 rows):    median {peer_med:.1f} ms, p95 {p95(peer):.1f} ms; "
            f"claim/peer = {med / peer_med:.1f}x; load average {load[0]:.2f} {load[1]:.2f} "
            f"on {os.cpu_count()} cores"
        )
        snaps = []
        for _ in range(5):
            t = time.perf_counter()
            repo.snapshot()
            snaps.append((time.perf_counter() - t) * 1000)
        print(
            f"metrics snapshot (all gauges): median {statistics.median(snaps):.0f} ms "
            f"over {len(snaps)} (taken in the background, not per scrape)"
        )
        rate = bench_inserts(repo)
        print(
            f"batched result writes:       {rate:,.0f} results/s "
            "(batches of 500: insert + state update)"
        )
        engine.dispose()
        db_size = os.path.getsize(tmp / "big.db") / 2**20
        print(f"database file:               {db_size:,.0f} MiB")
        rss, checked, scrape_ms = daemon_rss(url, tmp, args.daemon_seconds)
        print(
            f"daemon peak RSS:             {rss:,.0f} MiB over {args.daemon_seconds:.0f} s, "
            f"{checked:,} checks recorded (goal < 300 MB)"
        )
        print(f"/metrics scrape (median of 5): {scrape_ms:,.1f} ms")
        per_row, per_rollup = bytes_per_result(tmp)
    rows = 100_000 * 24 * 30
    raw = rows * per_row
    roll = 100_000 * 30 * per_rollup
    print(
        f"bytes per result row:        {per_row:.1f} "
        "(measured: 10,000 targets hourly for 3 days, PK incl.)"
    )
    print(f"bytes per rollup row:        {per_rollup:.1f}")
    print(
        f"100,000 targets hourly, 30 days: {rows:,} rows x {per_row:.1f} B = {raw / 1e9:.2f} GB"
        f" + 30 days of rollups {roll / 1e9:.2f} GB + targets/links ≈ "
        f"{(raw + roll) / 1e9 + 0.05:.2f} GB (goal < 2 GB)"
    )


if __name__ == "__main__":
    main()
