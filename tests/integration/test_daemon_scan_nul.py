"""A record PostgreSQL cannot hold as text (a NUL character in a kept field) costs
that record, not its document nor the scan pass, on both databases."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.repository import ARTICLES, Repository


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "a\x00b"},
        {"provider": {"name": "p", "domain": "a.example.com\x00"}},
        {"images": [{"url": "https://a.example.com/i\x00.jpg", "width": 1, "height": 1}]},
        {"ampWebUrl": "https://a.example.com/2/amp\x00"},
    ],
)
def test_a_nul_character_costs_only_its_record(
    repo: Repository, tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: dict[str, object]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        {"webUrl": "https://a.example.com/1"},
        {"webUrl": "https://a.example.com/2", **bad},
        {"webUrl": "https://a.example.com/3"},
    ]
    (corpus / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (corpus / "other.txt").write_text('---\nwebUrl: "https://b.example.com/x"\n---\n')
    scanner = CorpusScanner(repo, Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        scanner.scan()
    with repo.engine.connect() as conn:
        webs = sorted(conn.scalars(select(ARTICLES.c.web_url)))
    assert "https://a.example.com/1" in webs and "https://a.example.com/3" in webs
    assert "https://b.example.com/x" in webs
