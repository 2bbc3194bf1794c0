"""A target's articles are listed up to ARTICLES_PER_ITEM (a logo may be linked by
every article of the corpus), and its API document and page say when there are more
(`links_more`): they stopped at 50 without a word, so a reader took the 50 for all.
One row past the cap tells it, at no count's cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.status_http import get, get_json, running

from monitor.daemon.scan import CorpusScanner
from monitor.storage.listing import ARTICLES_PER_ITEM

LOGO = "http://127.0.0.1:9/logo.png"
ARTICLES = ARTICLES_PER_ITEM + 1


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    """ARTICLES stories sharing one logo, and a story with an image of its own."""
    root = tmp_path / "corpus"
    root.mkdir()
    logo = {"url": LOGO, "width": 1, "height": 1}
    news = [
        {"webUrl": f"http://127.0.0.1:9/story/{i}", "title": f"Story {i}", "images": [logo]}
        for i in range(ARTICLES)
    ]
    own = {"url": "http://127.0.0.1:9/own.png", "width": 1, "height": 1}
    news.append({"webUrl": "http://127.0.0.1:9/alone", "images": [own]})
    (root / "news.json").write_text(json.dumps({"news": news}))
    yield root


class _Known:
    def __init__(self, scanner: CorpusScanner) -> None:
        self.engine = scanner.repo.engine


def _target_id(scanner: CorpusScanner, url: str) -> int:
    with scanner.repo.engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM targets WHERE url = :u"), {"u": url}).scalar())


async def test_a_target_linked_past_the_cap_says_there_are_more(scanner: CorpusScanner) -> None:
    scanner.scan()
    known: Any = _Known(scanner)
    logo, own = _target_id(scanner, LOGO), _target_id(scanner, "http://127.0.0.1:9/own.png")
    async with running(known) as srv:
        doc = await get_json(srv, f"/api/v1/targets/{logo}")
        assert len(doc["links"]) == ARTICLES_PER_ITEM
        assert doc["links_more"] is True
        status, page, _ = await get(srv, f"/targets/{logo}")
        assert status == 200
        assert f"Only the first {ARTICLES_PER_ITEM} links to this target" in page
        # a target of one article: all of it, nothing more said
        doc = await get_json(srv, f"/api/v1/targets/{own}")
        assert len(doc["links"]) == 1 and doc["links_more"] is False
        status, page, _ = await get(srv, f"/targets/{own}")
        assert status == 200 and "Only the first" not in page
