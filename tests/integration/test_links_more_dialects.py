"""`links_more` and the article's field order on SQLite and PostgreSQL, at the
edges: a target linked exactly ARTICLES_PER_ITEM times says nothing of more, one
past says more; one article linking a target through several fields is several
links, and what the page says of them must hold for that too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.pg import pg_engine
from support.status_http import DIALECTS, get, get_json, running

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.listing import ARTICLES_PER_ITEM
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository

LOGO = "http://127.0.0.1:9/logo.png"
DIALECT_PARAMS = [
    pytest.param(d, marks=[pytest.mark.postgres] if d == "postgres" else []) for d in DIALECTS
]


@pytest.fixture(params=DIALECT_PARAMS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    for eng in pg_engine():
        upgrade(eng)
        yield eng


class _Known:
    def __init__(self, engine: Any) -> None:
        self.engine = engine


def _scan(engine: Any, tmp_path: Path, news: list[dict[str, Any]]) -> int:
    root = tmp_path / "corpus"
    root.mkdir(exist_ok=True)
    (root / "news.json").write_text(json.dumps({"news": news}))
    CorpusScanner(
        Repository(engine), Settings(paths=[root], data_dir=tmp_path), KeyRing.empty()
    ).scan()
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM targets WHERE url = :u"), {"u": LOGO})
        return int(found.scalar_one())


def _stories(n: int, logos: int = 1) -> list[dict[str, Any]]:
    logo = {"url": LOGO, "width": 1, "height": 1}
    return [
        {"webUrl": f"http://127.0.0.1:9/story/{i}", "title": f"S {i}", "images": [logo] * logos}
        for i in range(n)
    ]


@pytest.mark.parametrize("n, more", [(ARTICLES_PER_ITEM, False), (ARTICLES_PER_ITEM + 1, True)])
async def test_links_more_at_the_cap(engine: Any, tmp_path: Path, n: int, more: bool) -> None:
    logo = _scan(engine, tmp_path, _stories(n))
    async with running(_Known(engine)) as srv:  # type: ignore[arg-type]
        doc = await get_json(srv, f"/api/v1/targets/{logo}")
        assert len(doc["links"]) == ARTICLES_PER_ITEM and doc["links_more"] is more
        _, page, _ = await get(srv, f"/targets/{logo}")
        assert ("Only the first" in page) is more


async def test_one_article_linking_past_the_cap_is_not_called_more_articles(
    engine: Any, tmp_path: Path
) -> None:
    """One story whose images repeat the logo 51 times: 51 links, one article."""
    logo = _scan(engine, tmp_path, _stories(1, logos=ARTICLES_PER_ITEM + 1))
    async with running(_Known(engine)) as srv:  # type: ignore[arg-type]
        doc = await get_json(srv, f"/api/v1/targets/{logo}")
        assert len(doc["links"]) == ARTICLES_PER_ITEM and doc["links_more"] is True
        assert len(doc["articles"]) == 1
        _, page, _ = await get(srv, f"/targets/{logo}")
        assert "Only the first" in page
        assert "articles that link this target" not in page, "one article links it"
