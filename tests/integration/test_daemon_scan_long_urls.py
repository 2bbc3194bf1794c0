"""A URL longer than the database can index costs its record, not its document
(contract section 1: one bad record costs one record), on both databases.

PostgreSQL's unique index on targets.url refuses an entry over ~2.7 KB (a URL
that does not compress), which failed the write of the whole document's batch."""

from __future__ import annotations

import json
import logging
import random
import string
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.repository import ARTICLES, TARGETS, Repository


def noise(n: int) -> str:
    """Characters that do not compress (a seeded generator: the same every run)."""
    rng = random.Random(16)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def test_a_url_too_long_to_index_costs_only_its_record(
    repo: Repository, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long_image = "https://img.example.com/" + noise(3000) + ".jpg"
    rows = [
        {"webUrl": "https://a.example.com/1"},
        {
            "webUrl": "https://a.example.com/2",
            "images": [{"url": long_image, "width": 1, "height": 1}],
        },
        {"webUrl": "https://a.example.com/3?q=" + noise(3000)},
        {"webUrl": "https://a.example.com/4"},
    ]
    (corpus / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (corpus / "other.txt").write_text('---\nwebUrl: "https://b.example.com/x"\n---\n')
    scanner = CorpusScanner(repo, Settings(paths=[corpus], data_dir=tmp_path), KeyRing.empty())
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        report = scanner.scan()
    with repo.engine.connect() as conn:
        webs = sorted(conn.scalars(select(ARTICLES.c.web_url)))
        urls = set(conn.scalars(select(TARGETS.c.url)))
    assert webs == [
        "https://a.example.com/1",
        "https://a.example.com/4",
        "https://b.example.com/x",
    ]
    assert long_image not in urls
    assert report.invalid == 2
    assert repo.snapshot().invalid_documents == 2
    said = caplog.text
    assert "feed.jsonl:2" in said and "feed.jsonl:3" in said
    assert noise(3000) not in said  # the URL itself is not repeated into the log
