"""A SQLite database with known contents for the status API and pages' tests.

Rows are written with plain INSERTs after the real migrations, so every
count, state and filter result below is known exactly. Hostile strings
(markup, quotes, `javascript:`) sit in every field that reaches a page.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, insert

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.store import ARTICLES, LINKS, RESULTS, TARGETS, TRANSITIONS

T0 = 1_700_000_000_000
XSS = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
KINDS = ("web", "amp", "cdn", "image")
PROVIDERS = ("Alpha News", "Beta <b>Daily</b>", XSS)


@dataclass
class Known:
    """What was written: ids by state, kind, provider."""

    engine: Engine
    targets: dict[int, dict[str, object]] = field(default_factory=dict)
    articles: dict[str, dict[str, object]] = field(default_factory=dict)

    def ids(self, **where: object) -> list[int]:
        return sorted(
            i for i, t in self.targets.items() if all(t[k] == v for k, v in where.items())
        )


def article_id(n: int) -> str:
    return f"{n:016x}"


def build(path: Path, n_targets: int = 250) -> Known:
    """The known contents in a SQLite file at `path`: a copy of the file `build_on`
    wrote once per worker for these contents (no clock in them: T0, and the module's
    values a test may patch, PROVIDERS say), with its Known. The migrations and
    INSERTs of each test were most of a status test's setup."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_built(n_targets, (T0, KINDS, PROVIDERS, XSS)), path)
    known, _rows = _contents(make_engine(f"sqlite:///{path}"), n_targets)
    return known


@cache
def _built(n_targets: int, contents: tuple[object, ...]) -> Path:
    """`contents`: what `_contents` reads besides `n_targets`, the cache's key."""
    folder = Path(tempfile.mkdtemp(prefix="known-"))
    atexit.register(shutil.rmtree, folder, True)
    db = folder / "am.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        build_on(engine, n_targets)
    finally:
        engine.dispose()  # the last connection: checkpointed, no -wal left
    assert [p.name for p in folder.iterdir()] == ["am.db"], list(folder.iterdir())
    return db


def build_on(engine: Engine, n_targets: int = 250) -> Known:
    """`n_targets` targets: every 3rd down, every 7th unknown, the rest up; kinds and
    providers in turn; target 5 retired; one target's URL and titles are hostile."""
    upgrade(engine)
    known, (articles, targets, links, results, transitions) = _contents(engine, n_targets)
    with engine.begin() as conn:
        conn.execute(insert(ARTICLES), articles)
        conn.execute(insert(TARGETS), targets)
        conn.execute(insert(LINKS), links)
        conn.execute(insert(RESULTS), results)
        if transitions:
            conn.execute(insert(TRANSITIONS), transitions)
    return known


Rows = list[dict[str, object]]


def _contents(engine: Engine, n_targets: int) -> tuple[Known, tuple[Rows, Rows, Rows, Rows, Rows]]:
    """The Known of `build_on`'s contents (for `engine`), and the rows it writes."""
    known = Known(engine)
    targets: Rows = []
    links: Rows = []
    results: Rows = []
    transitions: Rows = []
    articles: Rows = []
    for n in range(1, 11):
        aid = article_id(n)
        title = XSS if n == 1 else f"Story {n}"
        art = {
            "id": aid,
            "source": f"corpus/{n}.txt" if n != 1 else f"corpus/{XSS}.txt",
            "line": 1,
            "web_url": f"https://news.test/story/{n}"
            if n != 1
            else "https://news.test/x?a=\"'<script>",
            "title": title,
            "provider": PROVIDERS[n % 3],
            "content_hash": "0" * 64,
            "problems": "cdn_url_mismatch" if n == 2 else "",
            "signature_status": "tampered" if n == 3 else "valid",
            "signature_fields": "title" if n == 3 else "",
            "updated_at": T0,
        }
        articles.append(art)
        known.articles[aid] = art
    for i in range(1, n_targets + 1):
        state = "down" if i % 3 == 0 else ("unknown" if i % 7 == 0 else "up")
        kind = KINDS[i % 4]
        provider = PROVIDERS[i % 3]
        url = f"https://news.test/t/{i}"
        if i == 3:
            url = "https://news.test/\"'><script>alert(3)</script>?q=<b>"
        outcome = {"down": "not_found", "up": "ok", "unknown": None}[state]
        problems = (
            "certificate_expiring" if i % 10 == 0 else ("slow_response" if i % 11 == 0 else "")
        )
        row = {
            "id": i,
            "url": url,
            "kind": kind,
            "provider": provider,
            "state": state,
            "fails": 0,
            "succs": 0,
            "next_due": None if i == 5 else T0 + i,
            "active": None if i == 5 else 1,
            "last_checked_at": None if outcome is None else T0 - 1000,
            "last_outcome": outcome,
            "last_status": {"not_found": 404, "ok": 200, None: None}[outcome],
            "last_problems": problems,
        }
        targets.append(row)
        known.targets[i] = {**row, "active": i != 5, "articles": [article_id((i % 10) + 1)]}
        links.append(
            {
                "article_id": article_id((i % 10) + 1),
                "path": f"images[{i}].url" if kind == "image" else f"{kind}Url{i}",
                "target_id": i,
                "kind": kind,
                "origin": "article",
            }
        )
        if outcome is not None:
            for k in range(3):
                results.append(
                    {
                        "target_id": i,
                        "checked_at": T0 - 3000 + k * 1000,
                        "outcome": 2 if state == "down" else 0,
                        "http_status": 404 if state == "down" else 200,
                        "latency_ms": 100 + 10 * k,
                        "problems": problems or None,
                    }
                )
        if state == "down":
            transitions.append(
                {
                    "target_id": i,
                    "at": T0 - 2000,
                    "from_state": "up",
                    "to_state": "down",
                    "outcome": "not_found",
                    "problems": "",
                }
            )
    return known, (articles, targets, links, results, transitions)
