"""A page of targets names each target's articles: every referencing article up to
ARTICLES_PER_ITEM, sorted and distinct, whatever the page's size, on SQLite (a
UNION ALL of seeks in chunks of 100) and PostgreSQL (a lateral join)."""

from __future__ import annotations

from sqlalchemy import insert

from monitor.storage.listing import ARTICLES_PER_ITEM, TargetQuery
from monitor.storage.repository import Repository
from monitor.storage.store import ARTICLES, LINKS, TARGETS

PAGE = 250  # past the SQLite path's chunk of 100, twice
LOGO = 7  # referenced by every article: more than the cap
# named by every article in ten places: PostgreSQL's first rows of it hold fewer
# distinct articles than the cap, though it has more (read again by its seek)
GALLERY = 9
PLACES = 10


def _article(n: int) -> str:
    return f"{n:016x}"


def test_each_item_names_its_articles_capped_sorted_and_distinct(repo: Repository) -> None:
    articles = ARTICLES_PER_ITEM + 30
    expected: dict[int, set[str]] = {t: set() for t in range(1, PAGE + 1)}
    links = []
    for a in range(articles):
        # each article links a few targets (two paths to one of them: one id each)
        for path, target in (("web", a % PAGE + 1), ("amp", a % PAGE + 1), ("img", LOGO)):
            links.append(
                {
                    "article_id": _article(a),
                    "path": path,
                    "target_id": target,
                    "kind": "web",
                    "origin": "article",
                }
            )
            expected[target].add(_article(a))
        for place in range(PLACES):
            links.append(
                {
                    "article_id": _article(a),
                    "path": f"images.{place}.url",
                    "target_id": GALLERY,
                    "kind": "image",
                    "origin": "article",
                }
            )
        expected[GALLERY].add(_article(a))
    with repo.engine.begin() as conn:
        conn.execute(
            insert(TARGETS),
            [
                {
                    "id": t,
                    "url": f"https://n.test/{t}",
                    "kind": "web",
                    "state": "up",
                    "next_due": 1,
                    "active": 1,
                }
                for t in expected
            ],
        )
        conn.execute(
            insert(ARTICLES),
            [
                {
                    "id": _article(a),
                    "source": "corpus.jsonl",
                    "web_url": f"https://n.test/a/{a}",
                    "content_hash": "0" * 64,
                    "signature_status": "missing",
                    "updated_at": 1,
                }
                for a in range(articles)
            ],
        )
        conn.execute(insert(LINKS), links)

    page = repo.list_targets(TargetQuery(limit=PAGE))

    got = {item["id"]: item["articles"] for item in page.items}
    assert set(got) == set(expected)
    for target, ids in got.items():
        assert ids == sorted(set(ids)), target
        if target in (LOGO, GALLERY):
            assert len(ids) == ARTICLES_PER_ITEM, target
            assert set(ids) <= expected[target]
        else:
            assert set(ids) == expected[target], target
    assert sum(1 for ids in got.values() if not ids) == PAGE - articles
