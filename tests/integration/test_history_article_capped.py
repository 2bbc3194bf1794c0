"""`history ARTICLE` lists at most the targets the status API lists for one article
(TARGETS_PER_ARTICLE), and says so: it read and printed every target of a record
with thousands of images or related links (a hostile or broken corpus), each with
four queries, where /api/v1/articles/{id} stopped at 500 (and said nothing either).
The JSON of both gains `targets_total`; the text and the HTML page say how many
were shown of how many."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import status_db
from support.status_http import get, get_json, running

from monitor.cli import cli
from monitor.daemon.scan import CorpusScanner
from monitor.storage.listing import TARGETS_PER_ARTICLE

# status_db links target i to article (i % 10) + 1: ten articles of PER targets each
PER = TARGETS_PER_ARTICLE + 3
ARTICLE = status_db.article_id(2)
WEB_URL = "https://news.test/story/2"


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> status_db.Known:
    return status_db.build(tmp_path_factory.mktemp("capped") / "am.db", n_targets=10 * PER)


def _history(known: status_db.Known, *args: str) -> str:
    result = CliRunner().invoke(cli, ["history", *args, "--db", str(known.engine.url)])
    assert result.exit_code == 0, result.output
    return result.output


def test_history_json_lists_the_apis_share_and_says_how_many(known: status_db.Known) -> None:
    for query in (WEB_URL, ARTICLE):
        data = json.loads(_history(known, query, "--format", "json", "--limit", "0"))
        assert len(data["targets"]) == TARGETS_PER_ARTICLE
        assert data["article"]["targets_total"] == PER
        # the first ones in field order (top-level fields first), as the API lists them
        fields = [t["field"] for t in data["targets"]]
        assert fields == sorted(fields, key=lambda f: ("." in f, f))


def test_history_text_says_only_part_is_shown(known: status_db.Known) -> None:
    out = _history(known, WEB_URL, "--format", "table", "--limit", "0")
    said = f"only the first {TARGETS_PER_ARTICLE} of this article's {PER} targets are shown"
    assert out.count(said) == 2, out[:2000]  # at the top and where the listing ends
    assert out.count(" state ") == TARGETS_PER_ARTICLE


def test_an_article_with_few_targets_says_nothing_of_a_cut(known: status_db.Known) -> None:
    target = _history(known, "1", "--format", "table", "--limit", "0")
    assert "only the first" not in target


async def test_the_api_and_page_say_how_many_there_are(known: status_db.Known) -> None:
    async with running(known) as srv:
        doc = await get_json(srv, f"/api/v1/articles/{ARTICLE}")
        assert len(doc["targets"]) == TARGETS_PER_ARTICLE
        assert doc["targets_total"] == PER
        status, page, _ = await get(srv, f"/articles/{ARTICLE}")
        assert status == 200
        assert f"Only the first {TARGETS_PER_ARTICLE} of this article's {PER} targets" in page


IMAGES = TARGETS_PER_ARTICLE + 100
STORY = "http://127.0.0.1:9/story"


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    """One record whose images alone are past the cap (a gallery, or a hostile record)."""
    root = tmp_path / "corpus"
    root.mkdir()
    images = [
        {"url": f"http://127.0.0.1:9/img/{i}.jpg", "width": 1, "height": 1} for i in range(IMAGES)
    ]
    (root / "gallery.json").write_text(json.dumps({"webUrl": STORY, "images": images}))
    yield root


def test_the_articles_own_page_is_listed_before_its_images(scanner: CorpusScanner) -> None:
    """Path order put "webUrl" after every "images.N.url": past the cap, `history` of
    the article (and its API document and page) listed 500 images and not its page."""
    scanner.scan()
    url = str(scanner.repo.engine.url)
    result = CliRunner().invoke(cli, ["history", STORY, "--format", "json", "--db", url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["article"]["targets_total"] == IMAGES + 1
    fields = [t["field"] for t in data["targets"]]
    assert fields[0] == "webUrl", fields[:3]
    assert data["targets"][0]["url"] == STORY
    assert len(fields) == TARGETS_PER_ARTICLE
