"""What naming each listed target's articles costs a page of the target lists.

Fills a database (the real migrations, then bulk INSERTs) with `--targets`
targets, each referenced by `--refs` articles (and one logo target by every
article), then times a page's article ids over `--repeat` calls, p50 / p95 in
milliseconds, for each page size of `--pages`:

- `united`: UNION ALLs of 100 bounded seeks (listing.refs_united: SQLite's way,
  and PostgreSQL's before the twenty-first session),
- `joined`: one lateral join over the page's ids (listing.refs_joined:
  PostgreSQL only),
- `list`: the whole Repository.list_targets of that page, as the lists read it.

Both ways must name the same articles for a target under the cap (50), and
the cap's count of them for one over it (which 50 is each way's own: the
first met); the script says so or stops. `--gallery` makes each article name
the logo in that many places, as an article repeating an image would: the
lateral join's first rows then hold fewer distinct articles than the cap, and
the logo is read again by its seek.

    .venv/bin/python bench/list_article_ids.py
    bash scripts/with-postgres.sh sh -c \\
      '.venv/bin/python bench/list_article_ids.py --pg "$ARTICLE_MONITOR_TEST_PG_URL"'
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, text

Reader = Callable[[Connection, list[int]], dict[int, list[str]]]


def fill(engine: Engine, targets: int, refs: int, gallery: int) -> None:
    from monitor.storage.migrate import upgrade
    from monitor.storage.store import ARTICLES, LINKS, TARGETS

    upgrade(engine)
    articles = targets  # one article per target, each linking `refs` targets and the logo
    with engine.begin() as conn:
        conn.execute(
            insert(TARGETS),
            [
                {"id": t, "url": f"https://news.test/{t}", "kind": "web", "state": "up",
                 "next_due": 1, "active": 1}
                for t in range(1, targets + 1)
            ],
        )  # fmt: skip
        conn.execute(
            insert(ARTICLES),
            [
                {"id": f"{a:016x}", "source": "corpus.jsonl", "web_url": f"https://news.test/a/{a}",
                 "content_hash": "0" * 64, "signature_status": "missing", "updated_at": 1}
                for a in range(articles)
            ],
        )  # fmt: skip
        conn.execute(
            insert(LINKS),
            [
                {"article_id": f"{a:016x}", "path": f"r{k}", "target_id": (a + k) % targets + 1,
                 "kind": "web", "origin": "article"}
                for a in range(articles)
                for k in range(refs)
            ]
            + [
                {"article_id": f"{a:016x}", "path": f"logo{g}", "target_id": 1, "kind": "image",
                 "origin": "provider"}
                for a in range(articles)
                for g in range(gallery)
            ],
        )  # fmt: skip
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def agree(first: dict[int, list[str]], *others: dict[int, list[str]]) -> bool:
    from monitor.storage.listing import ARTICLES_PER_ITEM

    for other in others:
        if set(other) != set(first):
            return False
        for tid, ids in first.items():
            capped = len(ids) == len(other[tid]) == ARTICLES_PER_ITEM
            if not capped and ids != other[tid]:
                return False
    return True


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm-up: the statement's first preparation
    laps = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        laps.append((time.perf_counter() - start) * 1000)
    laps.sort()
    return statistics.median(laps), laps[int(len(laps) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--refs", type=int, default=3, help="targets each article links")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--gallery", type=int, default=1, help="places each article names the logo")
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()

    from monitor.storage.engine import make_engine
    from monitor.storage.listing import TargetQuery, refs_joined, refs_united
    from monitor.storage.repository import Repository

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.pg or f"sqlite:///{Path(tmp) / 'am.db'}")
        fill(engine, args.targets, args.refs, args.gallery)
        repo = Repository(engine)
        pg = engine.dialect.name == "postgresql"
        print(f"{engine.dialect.name}: {args.targets} targets, {args.refs} references an article")
        for size in args.pages:
            ids = list(range(1, size + 1))
            ways: dict[str, Reader] = {"united": refs_united}
            if pg:
                ways["joined"] = refs_joined
            with engine.connect() as conn:
                answers = {name: way(conn, ids) for name, way in ways.items()}
            if not agree(*answers.values()):
                raise SystemExit("the two ways named different articles")
            for name, way in ways.items():

                def read(way: Reader = way, ids: list[int] = ids) -> None:
                    with engine.connect() as conn:  # a pooled connection, as a request has
                        way(conn, ids)

                p50, p95 = timed(read, args.repeat)
                print(f"  page {size:>5} {name:<7} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms")
            p50, p95 = timed(lambda n=size: repo.list_targets(TargetQuery(limit=n)), args.repeat)
            print(f"  page {size:>5} {'list':<7} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
