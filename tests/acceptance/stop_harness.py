"""Helpers of the stop tests with checker processes (`run`/`check` stopped while
their queues are full): what the server saw start, a corpus of many articles on
a few hosts, and the config those tests share.

Kept beside daemon_harness (which they build on) so that each stop test says
only its scenario: which signal, to whom, and what must follow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daemon_harness import LinkServer, article, write_config


def started(site: LinkServer) -> int:
    """Requests the server has seen start, on every host."""
    with site.lock:
        return sum(len(times) for times in site.starts.values())


def jsonl_corpus(tmp: Path, count: int, *, hosts: int, hung: int = 0) -> None:
    """`count` articles on `hosts` hosts in one JSON-lines file, the first `hung`
    on the server's hanging listener (`hang.test:81`)."""
    lines = []
    for n in range(count):
        host = "hang.test:81" if n < hung else f"h{n % hosts}.test"
        lines.append(
            json.dumps(
                {
                    "webUrl": f"http://{host}/{n}/",
                    "title": "t",
                    "provider": {"name": "News", "domain": host.partition(":")[0]},
                }
            )
        )
    (tmp / "corpus").mkdir(exist_ok=True)
    (tmp / "corpus" / "all.jsonl").write_text("\n".join(lines) + "\n")


def stop_config(
    tmp: Path, site: LinkServer, *, concurrency: int, per_host: int, **extra: Any
) -> Path:
    """Two checker processes, every host through `site`, each target due once in the
    test (an hour's interval), a minute's timeout and two minutes' leases (slow
    answers are waited for, never given up or taken back), a 3 s shutdown grace."""
    values: dict[str, Any] = {
        "connect_to": [f":80:127.0.0.1:{site.port}"],
        "concurrency": concurrency,
        "per_host": per_host,
        "workers": 2,
        "interval": 3600.0,
        "timeout": 60.0,
        "lease_seconds": 120.0,
        "shutdown_grace": 3.0,
    }
    return write_config(tmp, site.port, **{**values, **extra})


def db_stop_config(
    tmp: Path, site: LinkServer, db: str, *, articles: int = 3, **extra: Any
) -> Path:
    """A daemon on the database at `db` whose stop is quick to bound (grace 0.5 s,
    so the drain bound is 1 s) and whose leases outlast the test, checking a few
    articles (one file each) on `site`; `extra`, the scenario's settings."""
    cfg = write_config(tmp, site.port, db=db, shutdown_grace=0.5, lease_seconds=30.0, **extra)
    for i in range(articles):
        (tmp / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
    return cfg
