"""A target id past what the database's id column holds (an INTEGER on PostgreSQL:
2**31 - 1) finds nothing, as on SQLite, rather than fail. The API takes ids and
cursors up to a BIGINT's maximum (a cursor's checksum is no secret), and every bound
parameter is cast to the column's INTEGER: `/api/v1/targets/3000000000`, a cursor
past 2**31 - 1, a `q` or `problem` page whose scan window ended past it, or
`status 3000000000` was "integer out of range", which the status API answers 503
"the database could not be read" with a warning logged, for a target that does not
exist (SQLite: 404, an empty page). Both databases, the same answers."""

from __future__ import annotations

from sqlalchemy import insert

from monitor.storage.listing import SCAN_WINDOW, TargetQuery
from monitor.storage.repository import Repository
from monitor.storage.store import ARTICLES, LINKS, TARGETS

TOP = 2**31 - 1  # the largest id both databases hold


def test_ids_past_the_column_find_nothing(repo: Repository) -> None:
    with repo.engine.begin() as conn:
        conn.execute(
            insert(TARGETS),
            [
                {"id": i, "url": f"https://n.test/{i}", "kind": "web", "state": "up", "active": 1}
                for i in (1, TOP)
            ],
        )
        conn.execute(
            insert(ARTICLES),
            {
                "id": "0" * 16,
                "source": "c.jsonl",
                "web_url": "https://n.test/a",
                "content_hash": "0" * 64,
                "signature_status": "missing",
                "updated_at": 1,
            },
        )
        conn.execute(
            insert(LINKS),
            {
                "article_id": "0" * 16,
                "path": "webUrl",
                "target_id": TOP,
                "kind": "web",
                "origin": "article",
            },
        )
    # the last target, found by id, by a page after the one before it, by a scan
    # whose window ends past the column's largest value
    assert repo.target(TOP)["articles"] == ["0" * 16]  # type: ignore[index]
    page = repo.list_targets(TargetQuery(after=TOP - 1))
    assert [r["id"] for r in page.items] == [TOP] and page.last_id is None
    page = repo.list_targets(TargetQuery(after=TOP - SCAN_WINDOW // 2, q="n.test"))
    assert [r["id"] for r in page.items] == [TOP] and page.last_id is None
    assert repo.find_targets(str(TOP))[1][0]["id"] == TOP
    for past in (TOP + 1, 3_000_000_000, 2**63 - 1):
        assert repo.target(past) is None
        for q in (TargetQuery(after=past), TargetQuery(after=past - 1, q="n.test")):
            page = repo.list_targets(q)
            assert page.items == [] and page.last_id is None, q
        assert repo.find_targets(str(past)) == (None, [])
